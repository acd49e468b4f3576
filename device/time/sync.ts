/**
 * Keeps the wall clock right: asks the configured SNTP servers in order until one gives a usable answer, steps
 * the clock by the offset (devices boot with whatever their RTC says, and TLS needs the right date), and asks
 * again every RESYNC_MS — sooner, with backoff, while no server answers.
 *
 * Round trips are measured on the monotonic clock, so a step of the wall clock between sending and receiving
 * (by this or anything else) cannot distort the offset. Sockets, DNS, clocks and timers are injected.
 */
import { checkReply, clockSample, decodeSntpPacket, encodeSntpRequest, fromNtp, toNtp } from './sntp.ts';
import type { TimeServer } from './servers.ts';
import { errorMessage } from '../contract/error-message.ts';

/** Offsets smaller than this are left alone: without slewing, stepping by a few ms would only add jitter. */
export const STEP_MIN_MS = 100;
/** After a good answer: about 17 minutes, NTP's usual longest poll interval (2^10 s). */
export const RESYNC_MS = 1024_000;
const RETRY_FIRST_MS = 4_000;
const RETRY_MAX_MS = 256_000;
/** One server's share of an attempt: a LAN or the internet answers well within this. */
const PER_SERVER_MS = 3_000;

export interface ExchangeResult {
  bytes: Uint8Array;
  /** The address the answer came from. */
  address: string;
  /** Monotonic ms from just before the request left to the answer's arrival. */
  roundTripMs: number;
}

export interface TimeSyncDeps {
  servers: readonly TimeServer[];
  /**
   * Resolves `server.host`, sends the request `build()` makes (called just before sending, so its timestamp is
   * fresh), and resolves with the first answer from that address; rejects on a timeout or a failed lookup.
   */
  exchange(server: TimeServer, build: () => Uint8Array, timeoutMs: number): Promise<ExchangeResult>;
  /** Wall clock, Unix ms (Date.now()). */
  wallNow(): number;
  /** Monotonic ms. */
  monoNow(): number;
  /** Adds `offsetMs` to CLOCK_REALTIME. */
  stepClock(offsetMs: number): void;
  setTimer(ms: number, fn: () => void): () => void;
  random(): number;
  log: { info(message: string): void; warn(message: string): void };
}

export interface SyncSuccess {
  ok: true;
  /** "10.0.2.2:123", or "time.example:123 (192.0.2.1)" for a name. */
  source: string;
  offsetMs: number;
  delayMs: number;
  stratum: number;
  stepped: boolean;
  /** Monotonic ms of the answer. */
  at: number;
  /** Why the servers before this one gave nothing: each costs the boot time, so the log says it. */
  skipped: string[];
}

export interface SyncFailure {
  ok: false;
  /** One per server, e.g. "no answer from 10.0.2.2:123". */
  failures: string[];
}

export type SyncResult = SyncSuccess | SyncFailure;

export function formatOffset(ms: number): string {
  return `${ms < 0 ? '-' : '+'}${(Math.abs(ms) / 1000).toFixed(3)} s`;
}

/** "synchronised with 10.0.2.2:1123, offset +1.234 s, stratum 2" (plus a note when the clock was left alone). */
export function describeSuccess(result: SyncSuccess): string {
  const notes = [...(result.stepped ? [] : [`within ${STEP_MIN_MS / 1000} s: clock left as is`]), ...result.skipped];
  const note = notes.length === 0 ? '' : ` (${notes.join('; ')})`;
  return `synchronised with ${result.source}, offset ${formatOffset(result.offsetMs)}, stratum ${result.stratum}${note}`;
}

export class TimeSync {
  #deps: TimeSyncDeps;
  #last: SyncSuccess | undefined;
  #failures = 0;
  #running: Promise<SyncResult> | undefined;
  #cancelTimer: (() => void) | undefined;
  #stopped = false;

  constructor(deps: TimeSyncDeps) {
    this.#deps = deps;
  }

  /** The last good answer, if any: what the status endpoint reports. */
  get last(): SyncSuccess | undefined {
    return this.#last;
  }

  /**
   * The boot's attempt, bounded by `timeoutMs`; schedules the next one either way and returns the result without
   * logging it (the boot stage's own line says it).
   */
  async start(timeoutMs: number): Promise<SyncResult> {
    const result = await this.#attempt(timeoutMs);
    this.#scheduleAfter(result);
    return result;
  }

  /** When not synchronised yet, try now instead of waiting for the backoff (e.g. a DHCP lease just arrived). */
  nudge(): void {
    if (this.#stopped || this.#last !== undefined || this.#running !== undefined) return;
    this.#cancelTimer?.();
    void this.#background();
  }

  stop(): void {
    this.#stopped = true;
    this.#cancelTimer?.();
  }

  /** The wait before the next attempt after `result`. */
  nextDelay(result: SyncResult): number {
    return result.ok ? RESYNC_MS : Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** Math.max(0, this.#failures - 1));
  }

  #scheduleAfter(result: SyncResult): void {
    if (this.#stopped) return;
    this.#cancelTimer?.();
    this.#cancelTimer = this.#deps.setTimer(this.nextDelay(result), () => void this.#background());
  }

  async #background(): Promise<void> {
    const result = await this.#attempt(this.#deps.servers.length * PER_SERVER_MS);
    if (result.ok) {
      this.#deps.log.info(`time: ${describeSuccess(result)}`);
    } else {
      const retry = `retrying in ${Math.round(this.nextDelay(result) / 1000)} s`;
      const why = result.failures.join('; ');
      if (this.#last === undefined) this.#deps.log.warn(`time: not synchronised (${why}), ${retry}`);
      else this.#deps.log.warn(`time: resync failed (${why}); keeping the clock set from ${this.#last.source}, ${retry}`);
    }
    this.#scheduleAfter(result);
  }

  #attempt(timeoutMs: number): Promise<SyncResult> {
    this.#running ??= this.#tryServers(timeoutMs).finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #tryServers(timeoutMs: number): Promise<SyncResult> {
    const deadline = this.#deps.monoNow() + timeoutMs;
    const failures: string[] = [];
    for (const server of this.#deps.servers) {
      const left = deadline - this.#deps.monoNow();
      if (left <= 0) {
        failures.push(`${server.text}: not tried in time`);
        continue;
      }
      try {
        const result = { ...(await this.#query(server, Math.min(left, PER_SERVER_MS))), skipped: failures };
        this.#failures = 0;
        this.#last = result;
        return result;
      } catch (error) {
        failures.push(errorMessage(error));
      }
    }
    this.#failures++;
    return { ok: false, failures };
  }

  async #query(server: TimeServer, timeoutMs: number): Promise<Omit<SyncSuccess, 'skipped'>> {
    let sent = toNtp(0);
    const build = () => {
      sent = toNtp(this.#deps.wallNow());
      // Random low bits (below a microsecond): a blind forger cannot guess the originate timestamp to echo.
      sent.fraction = ((sent.fraction & ~0x3ff) | Math.floor(this.#deps.random() * 0x400)) >>> 0;
      return encodeSntpRequest(sent);
    };
    const answer = await this.#deps.exchange(server, build, timeoutMs);
    const name = answer.address === server.host ? `${server.host}:${server.port}` : `${server.host}:${server.port} (${answer.address})`;
    let reply;
    try {
      reply = decodeSntpPacket(answer.bytes);
      checkReply(reply, sent);
    } catch (error) {
      throw new Error(`${name}: ${errorMessage(error)}`);
    }
    const t1 = fromNtp(sent);
    const sample = clockSample(t1, fromNtp(reply.receive), fromNtp(reply.transmit), t1 + answer.roundTripMs);
    const stepped = Math.abs(sample.offsetMs) >= STEP_MIN_MS;
    if (stepped) this.#deps.stepClock(sample.offsetMs);
    return { ok: true, source: name, offsetMs: sample.offsetMs, delayMs: sample.delayMs, stratum: reply.stratum, stepped, at: this.#deps.monoNow() };
  }
}
