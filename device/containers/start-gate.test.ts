import { describe, expect, it } from 'vitest';
import { createStartGate } from './start-gate.ts';

function gate(health: Record<string, string>) {
  const started: string[] = [];
  const log: string[] = [];
  const containers = [
    { name: 'db', dependsOn: [] },
    { name: 'api', dependsOn: ['db'] },
    { name: 'worker', dependsOn: ['api'] },
    { name: 'cron', dependsOn: [] },
  ];
  const g = createStartGate(containers, { health: (n) => health[n], start: (n) => void started.push(n), log: (m) => void log.push(m) });
  return { g, started, log };
}

describe('createStartGate', () => {
  it('waits for a dependency with a healthcheck to be healthy, and transitively; the rest start at once', () => {
    const health: Record<string, string> = { db: 'starting' };
    const { g, started, log } = gate(health);
    expect(['db', 'api', 'worker', 'cron'].map((n) => g.waiting(n))).toEqual([false, true, true, false]);
    expect(log).toEqual(['container api: waits for db to be healthy', 'container worker: waits for api to be started']);
    g.check();
    expect(started).toEqual([]);
    health.db = 'unhealthy';
    g.check();
    expect(started).toEqual([]);
    health.db = 'healthy';
    g.check();
    expect(started).toEqual(['api', 'worker']);
    expect(log.slice(2)).toEqual(['container api: starting now that db is ready', 'container worker: starting now that api is ready']);
  });

  it('no healthchecks: nothing waits (the start queue keeps the order); a hand start releases', () => {
    const { g, started } = gate({});
    expect(['db', 'api', 'worker'].some((n) => g.waiting(n))).toBe(false);
    g.check();
    expect(started).toEqual([]);
    const held = gate({ db: 'starting' });
    held.g.release('api');
    held.g.check();
    expect(held.g.waiting('api')).toBe(false);
    expect(held.started).toEqual(['worker']);
  });
});
