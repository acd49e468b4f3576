/**
 * A DHCPv4 client for one interface (RFC 2131 §4.4): INIT → SELECTING → REQUESTING → BOUND, then RENEWING at T1
 * (unicast to the server), REBINDING at T2 (broadcast), and back to INIT when the lease expires or a server says
 * NAK. After a link comes back with a lease still valid it verifies it first (INIT-REBOOT, "rebooting" here).
 *
 * Everything outside is injected — sending, the monotonic clock, timers, randomness, and what to do with a lease —
 * so the whole state machine runs in tests with a fake clock. Time is monotonic milliseconds: the wall clock may
 * be stepped by the time stage while a lease runs.
 *
 * Retransmissions: 2 s, then doubling to 64 s, each ±1 s (RFC 2131 §4.1 suggests 4 s first; a device at boot
 * waits on the first lease, so kiln asks again sooner). In RENEWING and REBINDING half the time left until T2 or
 * the lease's end, at least 60 s (§4.4.5), and never past T2 or the end.
 */
import { CLIENT_PORT, decodeDhcpMessage, encodeDhcpMessage, type DhcpMessage, type DhcpOptions, type MessageType } from './message.ts';
import { INFINITE_LEASE, leaseFromAck, type Lease } from './lease.ts';
import { errorMessage } from '../../contract/error-message.ts';

export type DhcpState = 'stopped' | 'init' | 'selecting' | 'requesting' | 'bound' | 'renewing' | 'rebinding' | 'rebooting';

export const BROADCAST = '255.255.255.255';
export { CLIENT_PORT };

const FIRST_RETRY_MS = 2_000;
const MAX_RETRY_MS = 64_000;
const JITTER_MS = 1_000;
/** REQUESTs in REQUESTING before starting over with DISCOVER. */
const REQUEST_TRIES = 4;
/** REQUESTs in INIT-REBOOT before falling back on the lease's own timers. */
const REBOOT_TRIES = 3;
const MIN_RENEW_RETRY_MS = 60_000;
/** After a NAK: a pause before DISCOVER, so a confused server cannot make the client spin. */
const NAK_PAUSE_MS = 2_000;
/** Options the client asks for (55): mask, router, DNS, domain, MTU, lease, server, T1, T2. */
const PARAMETERS = [1, 3, 6, 15, 26, 51, 54, 58, 59];
const MAX_MESSAGE_SIZE = 1500;

export interface DhcpClientDeps {
  /** Interface name, for messages. */
  name: string;
  mac: string;
  /** Sent as option 12, so the server's DNS or lease table can name the device. */
  hostname?: string;
  /** Sends a message to port 67 of `destination` (BROADCAST or the server's address). May throw. */
  send(bytes: Uint8Array, destination: string): void;
  /** Monotonic milliseconds. */
  now(): number;
  /** Runs `fn` after `ms`; returns a function that cancels it. */
  setTimer(ms: number, fn: () => void): () => void;
  /** Uniform in [0, 1). */
  random(): number;
  /** A lease was granted (`renewed` = the same address extended). Apply its address and routes. */
  onBound(lease: Lease, renewed: boolean): void;
  /** A lease ended (expired, NAK, or replaced by another address). Remove its address and routes. */
  onLost(lease: Lease, reason: string): void;
  log(message: string): void;
}

export class DhcpClient {
  #deps: DhcpClientDeps;
  #state: DhcpState = 'stopped';
  #lease: Lease | undefined;
  #xid = 0;
  #attempt = 0;
  /** When this exchange began (for `secs`) and when its last REQUEST went out (the lease runs from then). */
  #exchangeStartedAt = 0;
  #requestSentAt = 0;
  #offer: { address: string; serverId: string } | undefined;
  #cancelTimer: (() => void) | undefined;

  constructor(deps: DhcpClientDeps) {
    this.#deps = deps;
  }

  get state(): DhcpState {
    return this.#state;
  }

  get lease(): Lease | undefined {
    return this.#lease;
  }

  /** Starts (or restarts, e.g. on link up): verifies a lease still valid, else asks for a new one. */
  start(): void {
    this.#clearTimer();
    if (this.#lease !== undefined && this.#deps.now() < this.#expiresAt(this.#lease)) this.#reboot();
    else this.#discover();
  }

  /** Stops sending (e.g. link down). The lease is kept: its address stays until it expires or start() replaces it. */
  stop(): void {
    this.#clearTimer();
    this.#state = 'stopped';
  }

  /** A datagram that arrived on port 68 of this interface. Anything not an answer to this client is ignored. */
  receive(bytes: Uint8Array): void {
    let message: DhcpMessage;
    try {
      message = decodeDhcpMessage(bytes);
    } catch (error) {
      this.#deps.log(`${this.#deps.name} dhcp: ignored a bad message: ${errorMessage(error)}`);
      return;
    }
    if (message.op !== 'reply' || message.xid !== this.#xid || message.chaddr !== this.#deps.mac.toLowerCase()) return;
    const type = message.options.messageType;
    if (type === 'OFFER' && this.#state === 'selecting') this.#onOffer(message);
    else if (type === 'ACK' && this.#awaitingAck()) this.#onAck(message);
    else if (type === 'NAK' && this.#awaitingAck()) this.#onNak(message);
  }

  #awaitingAck(): boolean {
    return ['requesting', 'renewing', 'rebinding', 'rebooting'].includes(this.#state);
  }

  #clearTimer(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
  }

  #schedule(ms: number, fn: () => void): void {
    this.#clearTimer();
    this.#cancelTimer = this.#deps.setTimer(Math.max(0, ms), () => {
      this.#cancelTimer = undefined;
      fn();
    });
  }

  #backoff(attempt: number): number {
    const base = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (attempt - 1));
    return Math.round(base + (this.#deps.random() * 2 - 1) * JITTER_MS);
  }

  #newExchange(state: DhcpState): void {
    this.#state = state;
    this.#xid = Math.floor(this.#deps.random() * 0x1_0000_0000) >>> 0;
    this.#attempt = 0;
    this.#exchangeStartedAt = this.#deps.now();
  }

  #send(type: MessageType, destination: string, fields: { ciaddr?: string; broadcast: boolean; options?: Partial<DhcpOptions> }): void {
    const mac = this.#deps.mac.toLowerCase();
    const options: DhcpOptions = {
      messageType: type,
      clientId: Uint8Array.from([1, ...mac.split(':').map((h) => parseInt(h, 16))]),
      maxMessageSize: MAX_MESSAGE_SIZE,
      parameterList: PARAMETERS,
      ...fields.options,
    };
    if (this.#deps.hostname !== undefined) options.hostname = this.#deps.hostname;
    const bytes = encodeDhcpMessage({
      op: 'request',
      xid: this.#xid,
      secs: (this.#deps.now() - this.#exchangeStartedAt) / 1000,
      broadcast: fields.broadcast,
      ciaddr: fields.ciaddr ?? '0.0.0.0',
      yiaddr: '0.0.0.0',
      siaddr: '0.0.0.0',
      giaddr: '0.0.0.0',
      chaddr: mac,
      options,
    });
    try {
      this.#deps.send(bytes, destination);
    } catch (error) {
      // A down link or a missing route: the retransmission timer tries again.
      if (this.#attempt <= 1) this.#deps.log(`${this.#deps.name} dhcp: sending ${type} failed: ${errorMessage(error)}`);
    }
  }

  #discover(): void {
    this.#newExchange('selecting');
    this.#offer = undefined;
    this.#sendDiscover();
  }

  #sendDiscover(): void {
    this.#attempt++;
    this.#send('DISCOVER', BROADCAST, { broadcast: true });
    const delay = this.#backoff(this.#attempt);
    if (this.#attempt >= 3 && (this.#attempt <= 6 || this.#attempt % 10 === 0)) {
      this.#deps.log(`${this.#deps.name} dhcp: no offer after ${this.#attempt} DISCOVERs, next in ${Math.round(delay / 1000)} s`);
    }
    this.#schedule(delay, () => this.#sendDiscover());
  }

  #onOffer(offer: DhcpMessage): void {
    const serverId = offer.options.serverId ?? offer.siaddr;
    if (offer.yiaddr === '0.0.0.0' || serverId === '0.0.0.0') return;
    this.#offer = { address: offer.yiaddr, serverId };
    this.#state = 'requesting';
    this.#attempt = 0;
    this.#sendSelectingRequest();
  }

  #sendSelectingRequest(): void {
    const offer = this.#offer!;
    if (this.#attempt >= REQUEST_TRIES) {
      this.#deps.log(`${this.#deps.name} dhcp: no ACK from ${offer.serverId} for ${offer.address}, starting over`);
      this.#discover();
      return;
    }
    this.#attempt++;
    this.#requestSentAt = this.#deps.now();
    this.#send('REQUEST', BROADCAST, { broadcast: true, options: { requestedAddress: offer.address, serverId: offer.serverId } });
    this.#schedule(this.#backoff(this.#attempt), () => this.#sendSelectingRequest());
  }

  #reboot(): void {
    this.#newExchange('rebooting');
    this.#sendRebootRequest();
  }

  #sendRebootRequest(): void {
    const lease = this.#lease!;
    if (this.#attempt >= REBOOT_TRIES) {
      // No server answered: RFC 2131 §3.2 lets the client use its lease until it runs out.
      this.#resume(lease);
      return;
    }
    this.#attempt++;
    this.#requestSentAt = this.#deps.now();
    this.#send('REQUEST', BROADCAST, { broadcast: true, options: { requestedAddress: lease.address } });
    this.#schedule(this.#backoff(this.#attempt), () => this.#sendRebootRequest());
  }

  #onAck(ack: DhcpMessage): void {
    let lease: Lease;
    try {
      lease = leaseFromAck(ack, this.#requestSentAt, this.#offer?.serverId ?? this.#lease?.serverId);
    } catch (error) {
      this.#deps.log(`${this.#deps.name} dhcp: ignored an ACK: ${errorMessage(error)}`);
      return;
    }
    const previous = this.#lease;
    const renewed = previous !== undefined && previous.address === lease.address && previous.prefixLength === lease.prefixLength;
    if (previous !== undefined && !renewed) this.#deps.onLost(previous, `replaced by ${lease.address}/${lease.prefixLength}`);
    this.#lease = lease;
    this.#deps.onBound(lease, renewed);
    this.#enterBound(lease);
  }

  #onNak(nak: DhcpMessage): void {
    const why = nak.options.message === undefined ? '' : ` (${nak.options.message})`;
    this.#deps.log(`${this.#deps.name} dhcp: NAK from ${nak.options.serverId ?? 'the server'}${why}, starting over`);
    const lease = this.#lease;
    this.#lease = undefined;
    if (lease !== undefined) this.#deps.onLost(lease, 'the server refused it (NAK)');
    this.#state = 'init';
    this.#schedule(NAK_PAUSE_MS, () => this.#discover());
  }

  #t1At(lease: Lease): number {
    return lease.grantedAt + lease.renewalSeconds * 1000;
  }

  #t2At(lease: Lease): number {
    return lease.grantedAt + lease.rebindingSeconds * 1000;
  }

  #expiresAt(lease: Lease): number {
    return lease.leaseSeconds === INFINITE_LEASE ? Infinity : lease.grantedAt + lease.leaseSeconds * 1000;
  }

  #enterBound(lease: Lease): void {
    this.#state = 'bound';
    this.#clearTimer();
    if (lease.leaseSeconds === INFINITE_LEASE) return;
    this.#schedule(this.#t1At(lease) - this.#deps.now(), () => this.#renew());
  }

  /** Picks up a lease's timers where the clock is now (after INIT-REBOOT found no server). */
  #resume(lease: Lease): void {
    const now = this.#deps.now();
    if (now >= this.#expiresAt(lease)) this.#expire();
    else if (now >= this.#t2At(lease)) this.#rebind();
    else if (now >= this.#t1At(lease)) this.#renew();
    else this.#enterBound(lease);
  }

  #renew(): void {
    this.#newExchange('renewing');
    this.#sendRenewal();
  }

  #sendRenewal(): void {
    const lease = this.#lease!;
    this.#attempt++;
    this.#requestSentAt = this.#deps.now();
    this.#send('REQUEST', lease.serverId, { ciaddr: lease.address, broadcast: false });
    const t2 = this.#t2At(lease);
    const next = Math.max(MIN_RENEW_RETRY_MS, (t2 - this.#deps.now()) / 2);
    if (this.#deps.now() + next >= t2) this.#schedule(t2 - this.#deps.now(), () => this.#rebind());
    else this.#schedule(next, () => this.#sendRenewal());
  }

  #rebind(): void {
    const lease = this.#lease!;
    this.#deps.log(`${this.#deps.name} dhcp: no answer from ${lease.serverId} to renew ${lease.address}, asking any server`);
    this.#newExchange('rebinding');
    this.#sendRebind();
  }

  #sendRebind(): void {
    const lease = this.#lease!;
    this.#attempt++;
    this.#requestSentAt = this.#deps.now();
    this.#send('REQUEST', BROADCAST, { ciaddr: lease.address, broadcast: false });
    const end = this.#expiresAt(lease);
    const next = Math.max(MIN_RENEW_RETRY_MS, (end - this.#deps.now()) / 2);
    if (this.#deps.now() + next >= end) this.#schedule(end - this.#deps.now(), () => this.#expire());
    else this.#schedule(next, () => this.#sendRebind());
  }

  #expire(): void {
    const lease = this.#lease!;
    this.#lease = undefined;
    this.#deps.onLost(lease, 'the lease expired');
    this.#discover();
  }
}
