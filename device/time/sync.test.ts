import { describe, expect, it } from 'vitest';
import { fakeTimers } from '../testing/fake-net.ts';
import { parseServer, type TimeServer } from './servers.ts';
import { decodeSntpPacket, encodeSntpPacket, fromNtp, toNtp } from './sntp.ts';
import { TimeSync, describeSuccess, formatOffset, type ExchangeResult } from './sync.ts';

const flush = () => new Promise((resolve) => setImmediate(resolve));

interface FakeServer {
  /** How far the server's clock is ahead of the device's as it was before any step, ms. */
  aheadMs: number;
  stratum?: number;
  /** Answer with another originate timestamp (a stale or forged reply). */
  wrongOriginate?: boolean;
  address?: string;
  /** Fail like a timeout or a failed lookup. */
  fail?: string;
}

function setup(servers: Record<string, FakeServer>) {
  const timers = fakeTimers(0);
  // 0.6 s into the second: the fraction's top bit is set, as it is half the time.
  let wall = Date.UTC(2026, 10, 25, 12, 0, 0, 600);
  const steps: number[] = [];
  const lines: string[] = [];
  const asked: string[] = [];
  const sync = new TimeSync({
    servers: Object.keys(servers).map(parseServer),
    async exchange(server: TimeServer, build: () => Uint8Array): Promise<ExchangeResult> {
      const behaviour = servers[server.text]!;
      asked.push(server.text);
      if (behaviour.fail !== undefined) throw new Error(behaviour.fail);
      const request = decodeSntpPacket(build());
      // 10 ms round trip, 5 ms each way; the server answers at once.
      const t1 = fromNtp(request.transmit);
      const stepped = steps.reduce((sum, ms) => sum + ms, 0);
      const serverTime = toNtp(t1 + 5 + behaviour.aheadMs - stepped);
      const bytes = encodeSntpPacket({
        leap: 0,
        version: 4,
        mode: 4,
        stratum: behaviour.stratum ?? 2,
        poll: 6,
        precision: -20,
        rootDelay: 0,
        rootDispersion: 0,
        referenceId: 0,
        reference: serverTime,
        originate: behaviour.wrongOriginate ? { seconds: request.transmit.seconds, fraction: (request.transmit.fraction + 1) >>> 0 } : request.transmit,
        receive: serverTime,
        transmit: serverTime,
      });
      return { bytes, address: behaviour.address ?? server.host, roundTripMs: 10 };
    },
    wallNow: () => wall,
    monoNow: timers.now,
    stepClock: (ms) => {
      steps.push(ms);
      wall += ms;
    },
    setTimer: timers.setTimer,
    random: () => 0.5,
    log: { info: (m) => void lines.push(`info ${m}`), warn: (m) => void lines.push(`warn ${m}`) },
  });
  return { sync, timers, steps, lines, asked };
}

describe('TimeSync', () => {
  it("steps the clock by the measured offset and says so in the brief's words", async () => {
    const t = setup({ '10.0.2.2:1123': { aheadMs: 1234 } });
    const result = await t.sync.start(5000);
    expect(result).toMatchObject({ ok: true, source: '10.0.2.2:1123', stratum: 2, stepped: true });
    if (!result.ok) throw new Error('unreachable');
    expect(result.offsetMs).toBeCloseTo(1234, 3);
    expect(result.delayMs).toBeCloseTo(10, 3);
    expect(t.steps.length).toBe(1);
    expect(t.steps[0]).toBeCloseTo(1234, 3);
    expect(describeSuccess(result)).toBe('synchronised with 10.0.2.2:1123, offset +1.234 s, stratum 2');
    expect(t.lines).toEqual([]); // the boot stage's line says it
    expect(t.timers.waiting()).toEqual([1024_000]);
  });

  it('leaves the clock alone for an offset under 0.1 s', async () => {
    const t = setup({ '10.0.2.2': { aheadMs: -40 } });
    const result = await t.sync.start(5000);
    expect(t.steps).toEqual([]);
    if (!result.ok) throw new Error('expected success');
    expect(describeSuccess(result)).toBe('synchronised with 10.0.2.2:123, offset -0.040 s, stratum 2 (within 0.1 s: clock left as is)');
  });

  it('asks the servers in order; the first good answer wins', async () => {
    const t = setup({
      'a.example': { aheadMs: 0, fail: 'no answer from a.example:123' },
      'b.example:1123': { aheadMs: 500, address: '192.0.2.7' },
      'c.example': { aheadMs: 9 },
    });
    const result = await t.sync.start(5000);
    expect(t.asked).toEqual(['a.example', 'b.example:1123']);
    expect(result).toMatchObject({ ok: true, source: 'b.example:1123 (192.0.2.7)', skipped: ['no answer from a.example:123'] });
    if (!result.ok) throw new Error('expected success');
    expect(describeSuccess(result)).toBe('synchronised with b.example:1123 (192.0.2.7), offset +0.500 s, stratum 2 (no answer from a.example:123)');
  });

  it('refuses a reply that does not answer its request, naming the server', async () => {
    const t = setup({ '10.0.2.2': { aheadMs: 0, wrongOriginate: true } });
    expect(await t.sync.start(5000)).toEqual({ ok: false, failures: ['10.0.2.2:123: originate timestamp differs from the request: a stale or forged reply'] });
  });

  it('without an answer: retries after 4, 8, 16 ... s (at most 256 s), logging each failure', async () => {
    const t = setup({ '10.0.2.2:1123': { aheadMs: 0, fail: 'no answer from 10.0.2.2:1123' } });
    expect(await t.sync.start(5000)).toEqual({ ok: false, failures: ['no answer from 10.0.2.2:1123'] });
    expect(t.timers.waiting()).toEqual([4000]);
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      t.timers.advance(t.timers.waiting()[0]!);
      await flush();
      delays.push(t.timers.waiting()[0]!);
    }
    expect(delays).toEqual([8000, 16000, 32000, 64000, 128000, 256000, 256000, 256000]);
    expect(t.lines[0]).toBe('warn time: not synchronised (no answer from 10.0.2.2:1123), retrying in 8 s');
  });

  it('after a good answer, a failed resync keeps the clock and says where it was set from', async () => {
    const servers = { '10.0.2.2:1123': { aheadMs: 2000 } as FakeServer };
    const t = setup(servers);
    await t.sync.start(5000);
    servers['10.0.2.2:1123'].fail = 'no answer from 10.0.2.2:1123';
    t.timers.advance(1024_000);
    await flush();
    expect(t.lines).toEqual(['warn time: resync failed (no answer from 10.0.2.2:1123); keeping the clock set from 10.0.2.2:1123, retrying in 4 s']);
    expect(t.sync.last?.source).toBe('10.0.2.2:1123');
    delete servers['10.0.2.2:1123'].fail;
    t.timers.advance(4000);
    await flush();
    expect(t.lines[1]).toMatch(/^info time: synchronised with 10\.0\.2\.2:1123, offset [+-]0\.0\d\d s, stratum 2 \(within 0\.1 s: clock left as is\)$/);
  });

  it('nudge() tries at once while unsynchronised, and does nothing once synchronised', async () => {
    const servers = { '10.0.2.2': { aheadMs: 0, fail: 'no answer from 10.0.2.2:123' } as FakeServer };
    const t = setup(servers);
    await t.sync.start(5000);
    delete servers['10.0.2.2'].fail;
    servers['10.0.2.2'].aheadMs = 3000;
    t.sync.nudge();
    await flush();
    expect(t.lines).toEqual(['info time: synchronised with 10.0.2.2:123, offset +3.000 s, stratum 2']);
    expect(t.asked.length).toBe(2);
    t.sync.nudge();
    await flush();
    expect(t.asked.length).toBe(2);
  });

  it('stop() cancels the next attempt', async () => {
    const t = setup({ '10.0.2.2': { aheadMs: 0 } });
    await t.sync.start(5000);
    t.sync.stop();
    expect(t.timers.waiting()).toEqual([]);
  });

  it('formats offsets with a sign and milliseconds', () => {
    expect([formatOffset(1234.4), formatOffset(-0.4), formatOffset(0)]).toEqual(['+1.234 s', '-0.000 s', '+0.000 s']);
  });
});
