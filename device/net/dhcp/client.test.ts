import { describe, expect, it } from 'vitest';
import { fakeTimers } from '../../testing/fake-net.ts';
import { DhcpClient } from './client.ts';
import type { Lease } from './lease.ts';
import { decodeDhcpMessage, encodeDhcpMessage, type DhcpMessage, type DhcpOptions, type MessageType } from './message.ts';

const MAC = '52:54:00:12:34:56';
const S = 1000;

function setup(random = 0.5) {
  const timers = fakeTimers(100_000);
  const sent: { message: DhcpMessage; to: string; at: number }[] = [];
  const events: string[] = [];
  const logs: string[] = [];
  const client = new DhcpClient({
    name: 'eth0',
    mac: MAC,
    hostname: 'dev',
    send: (bytes, to) => void sent.push({ message: decodeDhcpMessage(bytes), to, at: timers.now() }),
    now: timers.now,
    setTimer: timers.setTimer,
    random: () => random,
    onBound: (lease, renewed) => void events.push(`${renewed ? 'renewed' : 'bound'} ${lease.address}/${lease.prefixLength} at ${timers.now()}`),
    onLost: (lease, reason) => void events.push(`lost ${lease.address} (${reason}) at ${timers.now()}`),
    log: (line) => void logs.push(line),
  });
  const last = () => sent[sent.length - 1]!;
  /** The server's answer to the last message sent. */
  function reply(type: MessageType, options: Partial<DhcpOptions> = {}, fields: Partial<DhcpMessage> = {}): void {
    const request = last().message;
    client.receive(
      encodeDhcpMessage({
        op: 'reply',
        xid: request.xid,
        secs: 0,
        broadcast: true,
        ciaddr: '0.0.0.0',
        yiaddr: type === 'NAK' ? '0.0.0.0' : '10.0.2.15',
        siaddr: '10.0.2.2',
        giaddr: '0.0.0.0',
        chaddr: MAC,
        ...fields,
        options: {
          messageType: type,
          serverId: '10.0.2.2',
          ...(type === 'NAK' ? {} : { leaseSeconds: 3600, subnetMask: '255.255.255.0', routers: ['10.0.2.2'] }),
          ...options,
        },
      }),
    );
  }
  function bind(): void {
    client.start();
    reply('OFFER');
    reply('ACK');
  }
  return { timers, sent, events, logs, client, last, reply, bind };
}

describe('DhcpClient: getting a lease', () => {
  it('DISCOVER, OFFER, REQUEST, ACK: broadcasts with the broadcast flag until bound', () => {
    const t = setup();
    t.client.start();
    expect(t.client.state).toBe('selecting');
    const discover = t.last();
    expect(discover.to).toBe('255.255.255.255');
    expect(discover.message).toMatchObject({ op: 'request', broadcast: true, ciaddr: '0.0.0.0', chaddr: MAC });
    expect(discover.message.options).toMatchObject({
      messageType: 'DISCOVER',
      hostname: 'dev',
      parameterList: [1, 3, 6, 15, 26, 51, 54, 58, 59],
      maxMessageSize: 1500,
    });
    expect([...discover.message.options.clientId!]).toEqual([1, 0x52, 0x54, 0, 0x12, 0x34, 0x56]);

    t.timers.advance(300);
    t.reply('OFFER');
    expect(t.client.state).toBe('requesting');
    const request = t.last();
    expect(request.to).toBe('255.255.255.255');
    expect(request.message.xid).toBe(discover.message.xid);
    expect(request.message.options).toMatchObject({ messageType: 'REQUEST', requestedAddress: '10.0.2.15', serverId: '10.0.2.2' });

    t.timers.advance(200);
    t.reply('ACK');
    expect(t.client.state).toBe('bound');
    expect(t.events).toEqual(['bound 10.0.2.15/24 at 100500']);
    // The lease runs from the REQUEST: T1 (1800 s) is due 1800 s after it.
    expect(t.client.lease!.grantedAt).toBe(100300);
    expect(t.timers.waiting()).toEqual([1800 * S - 200]);
  });

  it('retransmits DISCOVER after 2, 4, 8, 16, 32 then every 64 s, with growing secs, and says so from the third', () => {
    const t = setup();
    t.client.start();
    t.timers.advance(300 * S);
    const times = t.sent.map((s) => (s.at - 100_000) / S);
    expect(times).toEqual([0, 2, 6, 14, 30, 62, 126, 190, 254]);
    expect(t.sent.map((s) => s.message.secs)).toEqual(times);
    expect(new Set(t.sent.map((s) => s.message.xid)).size).toBe(1);
    expect(t.logs).toEqual([
      'eth0 dhcp: no offer after 3 DISCOVERs, next in 8 s',
      'eth0 dhcp: no offer after 4 DISCOVERs, next in 16 s',
      'eth0 dhcp: no offer after 5 DISCOVERs, next in 32 s',
      'eth0 dhcp: no offer after 6 DISCOVERs, next in 64 s',
    ]);
  });

  it('spreads retransmissions by up to ±1 s', () => {
    const early = setup(0);
    early.client.start();
    expect(early.timers.waiting()).toEqual([1 * S]);
    const late = setup(0.999);
    late.client.start();
    expect(late.timers.waiting()).toEqual([2998]);
  });

  it('starts over with DISCOVER when four REQUESTs get no ACK', () => {
    const t = setup();
    t.client.start();
    t.reply('OFFER');
    t.timers.advance(2 * S + 4 * S + 8 * S + 16 * S);
    expect(t.sent.map((s) => s.message.options.messageType)).toEqual(['DISCOVER', 'REQUEST', 'REQUEST', 'REQUEST', 'REQUEST', 'DISCOVER']);
    expect(t.logs).toEqual(['eth0 dhcp: no ACK from 10.0.2.2 for 10.0.2.15, starting over']);
    expect(t.client.state).toBe('selecting');
  });

  it('ignores answers meant for another transaction or another client, and bad bytes', () => {
    const t = setup();
    t.client.start();
    t.reply('OFFER', {}, { xid: 99 });
    t.reply('OFFER', {}, { chaddr: '52:54:00:00:00:01' });
    t.reply('ACK'); // not in SELECTING
    expect(t.client.state).toBe('selecting');
    t.client.receive(new Uint8Array(10));
    expect(t.logs).toEqual(['eth0 dhcp: ignored a bad message: Cannot decode DHCP message at 0x0: 10 bytes, need at least 240']);
    t.reply('OFFER');
    expect(t.client.state).toBe('requesting');
  });

  it('an ACK it cannot use is logged and the REQUEST retried', () => {
    const t = setup();
    t.client.start();
    t.reply('OFFER');
    t.reply('ACK', { leaseSeconds: undefined });
    expect(t.logs).toEqual(['eth0 dhcp: ignored an ACK: DHCP ACK without a lease time (option 51)']);
    expect(t.client.state).toBe('requesting');
  });

  it('keeps sending after a send error, reporting it once', () => {
    const t = setup();
    let fail = true;
    const client = new DhcpClient({
      name: 'eth0',
      mac: MAC,
      now: t.timers.now,
      setTimer: t.timers.setTimer,
      random: () => 0.5,
      send: () => {
        if (fail) throw new Error('send ENETDOWN');
      },
      onBound: () => {},
      onLost: () => {},
      log: (line) => void t.logs.push(line),
    });
    client.start();
    t.timers.advance(5 * S);
    expect(t.logs).toEqual(['eth0 dhcp: sending DISCOVER failed: send ENETDOWN']);
    fail = false;
    expect(t.timers.waiting()).toEqual([1 * S]);
  });
});

describe('DhcpClient: keeping a lease', () => {
  it('renews at T1 by unicast to the server, with its address in ciaddr and nothing else to prove', () => {
    const t = setup();
    t.bind();
    const bound = t.timers.now();
    t.timers.advance(1800 * S);
    expect(t.client.state).toBe('renewing');
    const renew = t.last();
    expect(renew.to).toBe('10.0.2.2');
    expect(renew.message).toMatchObject({ broadcast: false, ciaddr: '10.0.2.15' });
    expect(renew.message.options.requestedAddress).toBeUndefined();
    expect(renew.message.options.serverId).toBeUndefined();
    t.reply('ACK');
    expect(t.events).toEqual([`bound 10.0.2.15/24 at ${bound}`, `renewed 10.0.2.15/24 at ${bound + 1800 * S}`]);
    expect(t.client.state).toBe('bound');
    expect(t.timers.waiting()).toEqual([1800 * S]);
  });

  it('renewal unanswered: retries at half the time to T2 (at least 60 s), then rebinds by broadcast at T2', () => {
    const t = setup();
    t.bind();
    const start = t.timers.now();
    t.timers.advance(3150 * S); // T2 = 0.875 × 3600
    const at = (s: { at: number }) => (s.at - start) / S;
    const renewals = t.sent.filter((s) => s.to === '10.0.2.2');
    // T1 1800; T2 3150: half of 1350 = 675 → 2475; half of 675 = 337.5 → 2812.5; 168.75 → 2981.25; 84.375 → 3065.625;
    // then the 60 s minimum → 3125.625; another 60 s would pass T2, so the next is REBINDING at 3150.
    expect(renewals.map(at)).toEqual([1800, 2475, 2812.5, 2981.25, 3065.625, 3125.625]);
    expect(t.client.state).toBe('rebinding');
    expect(t.last()).toMatchObject({ to: '255.255.255.255', message: { broadcast: false, ciaddr: '10.0.2.15' } });
    expect(t.logs).toEqual(['eth0 dhcp: no answer from 10.0.2.2 to renew 10.0.2.15, asking any server']);
    t.reply('ACK');
    expect(t.events[1]).toMatch(/^renewed 10\.0\.2\.15\/24/);
  });

  it('lease expiry without any answer: the lease is lost and DISCOVER starts again', () => {
    const t = setup();
    t.bind();
    const start = t.timers.now();
    t.timers.advance(3600 * S);
    expect(t.events[1]).toBe(`lost 10.0.2.15 (the lease expired) at ${start + 3600 * S}`);
    expect(t.client.lease).toBeUndefined();
    expect(t.client.state).toBe('selecting');
    expect(t.last().message.options.messageType).toBe('DISCOVER');
  });

  it('a NAK to a renewal drops the lease and starts over after a pause', () => {
    const t = setup();
    t.bind();
    t.timers.advance(1800 * S);
    t.reply('NAK', { message: 'wrong network' });
    expect(t.events[1]).toMatch(/^lost 10\.0\.2\.15 \(the server refused it \(NAK\)\)/);
    expect(t.logs).toEqual(['eth0 dhcp: NAK from 10.0.2.2 (wrong network), starting over']);
    const count = t.sent.length;
    t.timers.advance(1999);
    expect(t.sent.length).toBe(count);
    t.timers.advance(1);
    expect(t.last().message.options.messageType).toBe('DISCOVER');
  });

  it('an infinite lease is never renewed', () => {
    const t = setup();
    t.client.start();
    t.reply('OFFER');
    t.reply('ACK', { leaseSeconds: 0xffffffff });
    expect(t.timers.waiting()).toEqual([]);
  });
});

describe('DhcpClient: link down and up', () => {
  it('stop() sends nothing more; start() with a valid lease verifies it (INIT-REBOOT)', () => {
    const t = setup();
    t.bind();
    t.client.stop();
    expect(t.timers.waiting()).toEqual([]);
    t.timers.advance(100 * S);
    t.client.start();
    expect(t.client.state).toBe('rebooting');
    expect(t.last()).toMatchObject({ to: '255.255.255.255', message: { broadcast: true, ciaddr: '0.0.0.0' } });
    expect(t.last().message.options).toMatchObject({ messageType: 'REQUEST', requestedAddress: '10.0.2.15' });
    expect(t.last().message.options.serverId).toBeUndefined();
    t.reply('ACK');
    expect(t.events[1]).toMatch(/^renewed 10\.0\.2\.15\/24/);
  });

  it('INIT-REBOOT unanswered: keeps the lease and its timers', () => {
    const t = setup();
    t.bind();
    const start = t.timers.now();
    t.client.stop();
    t.timers.advance(1000 * S);
    t.client.start();
    t.timers.advance(2 * S + 4 * S + 8 * S);
    expect(t.sent.filter((s) => s.message.options.requestedAddress === '10.0.2.15' && s.message.ciaddr === '0.0.0.0').length).toBe(4); // SELECTING's + 3
    expect(t.client.state).toBe('bound');
    expect(t.timers.waiting()).toEqual([start + 1800 * S - t.timers.now()]);
  });

  it('INIT-REBOOT answered with another address: the old lease is lost, the new one bound', () => {
    const t = setup();
    t.bind();
    t.client.stop();
    t.client.start();
    t.reply('ACK', {}, { yiaddr: '10.0.2.16' });
    expect(t.events.slice(1).map((e) => e.replace(/ at \d+$/, ''))).toEqual(['lost 10.0.2.15 (replaced by 10.0.2.16/24)', 'bound 10.0.2.16/24']);
  });

  it('start() after the lease ran out asks afresh', () => {
    const t = setup();
    t.bind();
    t.client.stop();
    t.timers.advance(4000 * S);
    t.client.start();
    expect(t.client.state).toBe('selecting');
  });
});

// Keeps the Lease type import honest: the client hands out leases of this shape.
export type { Lease };
