import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { healthcheckSchema } from '../contract/config/containers-schema.ts';
import { createHealthMonitor, describeCheck, httpProbe, tcpProbe, type Probe } from './health.ts';

function clock() {
  let now = 0;
  let timers: { at: number; fn: () => void }[] = [];
  return {
    now: () => now,
    setTimer: (fn: () => void, ms: number) => {
      const t = { at: now + ms, fn };
      timers.push(t);
      return () => void (timers = timers.filter((x) => x !== t));
    },
    /** Fires the next timer and lets the probe's promise settle. */
    async tick() {
      const next = timers.sort((a, b) => a.at - b.at).shift();
      if (next === undefined) throw new Error('no timer');
      now = next.at;
      next.fn();
      for (let i = 0; i < 5; i++) await Promise.resolve();
    },
    pending: () => timers.length,
  };
}

function monitor(check: Record<string, unknown>, results: (string | undefined)[]) {
  const c = clock();
  const log: string[] = [];
  const unhealthy: string[] = [];
  const states: string[] = [];
  const probe: Probe = async () => results.shift();
  const m = createHealthMonitor('web', healthcheckSchema.parse(check), probe, {
    now: c.now,
    setTimer: c.setTimer,
    log: { info: (x) => void log.push(`info ${x}`), warn: (x) => void log.push(`warn ${x}`) },
    onChange: (s) => void states.push(s.state),
    onUnhealthy: (reason) => void unhealthy.push(reason),
  });
  return { c, m, log, unhealthy, states };
}

describe('createHealthMonitor', () => {
  it('healthy on the first success; unhealthy after `retries` failures in a row, told once', async () => {
    const { c, m, log, unhealthy, states } = monitor({ http: { port: 8080, path: '/health' }, intervalSeconds: 2, retries: 3 }, [
      undefined,
      'HTTP 500',
      'HTTP 500',
      'HTTP 503',
      'HTTP 503',
    ]);
    m.started();
    await c.tick();
    expect(m.status()).toEqual({ state: 'healthy', failures: 0, checks: 1 });
    expect(c.now()).toBe(2000);
    await c.tick();
    await c.tick();
    expect(m.status()).toMatchObject({ state: 'healthy', failures: 2, last: 'HTTP 500' });
    await c.tick();
    expect(m.status()).toMatchObject({ state: 'unhealthy', failures: 3, last: 'HTTP 503' });
    await c.tick();
    expect(unhealthy).toEqual(['HTTP 503']);
    expect(states).toEqual(['healthy', 'unhealthy']);
    expect(log).toEqual([
      'info container web: healthy (http :8080/health)',
      'warn container web: unhealthy: 3 checks in a row failed (http :8080/health: HTTP 503)',
    ]);
  });

  it('failures within the start period do not count; a stop ends the checks; a start begins again', async () => {
    const { c, m } = monitor({ exec: ['/bin/check'], intervalSeconds: 1, retries: 1, startPeriodSeconds: 3 }, [
      'exit code 1',
      'exit code 1',
      'exit code 1',
      'exit code 1',
    ]);
    m.started();
    await c.tick();
    await c.tick();
    expect(m.status()).toEqual({ state: 'starting', failures: 0, checks: 2, last: 'exit code 1' });
    await c.tick();
    expect(m.status().state).toBe('unhealthy');
    m.stopped();
    expect(c.pending()).toBe(0);
    m.started();
    expect(m.status()).toEqual({ state: 'starting', failures: 0, checks: 0 });
    expect(c.pending()).toBe(1);
  });
});

describe('healthcheck config', () => {
  it('exactly one probe', () => {
    expect(describeCheck(healthcheckSchema.parse({ tcp: { port: 5432 } }))).toBe('tcp :5432');
    expect(healthcheckSchema.safeParse({}).error?.issues[0]?.message).toBe('expected one of exec, tcp or http');
    expect(healthcheckSchema.safeParse({ exec: ['true'], tcp: { port: 1 } }).error?.issues[0]?.message).toBe('expected only one of exec, tcp or http');
  });
});

describe('probes against real sockets on loopback', () => {
  it('tcp: a listening port is healthy, a closed one names ECONNREFUSED', async () => {
    const server = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const { port } = server.address() as AddressInfo;
    expect(await tcpProbe(port)(2000)).toBeUndefined();
    await new Promise((r) => server.close(r));
    expect(await tcpProbe(port)(2000)).toBe(`127.0.0.1:${port}: ECONNREFUSED`);
  });

  it('http: 2xx and 3xx are healthy, 5xx names the status, a silent server times out', async () => {
    const server = createHttpServer((req, res) => {
      if (req.url === '/slow') return; // never answers
      res.statusCode = req.url === '/ok' ? 200 : req.url === '/moved' ? 302 : 500;
      res.end();
    }).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const { port } = server.address() as AddressInfo;
    try {
      expect(await httpProbe(port, '/ok')(2000)).toBeUndefined();
      expect(await httpProbe(port, '/moved')(2000)).toBeUndefined();
      expect(await httpProbe(port, '/broken')(2000)).toBe(`GET http://127.0.0.1:${port}/broken: HTTP 500`);
      expect(await httpProbe(port, '/slow')(300)).toBe(`GET http://127.0.0.1:${port}/slow: no answer within 300 ms`);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
