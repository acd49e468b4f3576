import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKOFF } from '../contract/programs/backoff.ts';
import { createSupervisor, type ServiceEvents, type ServiceSpec } from './supervisor.ts';

/** A fake clock with timers, fake processes and a recording log. */
function harness() {
  let now = 0;
  let timers: { at: number; fn: () => void; id: number }[] = [];
  let nextId = 1;
  let nextPid = 100;
  const log: string[] = [];
  const procs: { spec: ServiceSpec; pid: number; events: ServiceEvents; signals: string[]; at: number }[] = [];
  const deps = {
    now: () => now,
    setTimer: (fn: () => void, ms: number) => {
      const id = nextId++;
      timers.push({ at: now + ms, fn, id });
      return () => void (timers = timers.filter((t) => t.id !== id));
    },
    log: { info: (m: string) => void log.push(`info ${m}`), warn: (m: string) => void log.push(`warn ${m}`) },
    spawn: (spec: ServiceSpec, events: ServiceEvents) => {
      const p = { spec, pid: nextPid++, events, signals: [] as string[], at: now };
      procs.push(p);
      return { pid: p.pid, kill: (signal: 'SIGTERM' | 'SIGKILL') => void p.signals.push(signal) };
    },
  };
  /** Move the clock, firing due timers in order. */
  const advance = async (ms: number) => {
    const end = now + ms;
    for (;;) {
      const due = timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      timers = timers.filter((t) => t !== due);
      now = due.at;
      due.fn();
      await Promise.resolve();
    }
    now = end;
    await Promise.resolve();
  };
  /** Jump the clock to the next timer and fire it. */
  const fireNext = async () => {
    const next = [...timers].sort((a, b) => a.at - b.at)[0];
    if (next !== undefined) await advance(next.at - now);
  };
  return { deps, log, procs, advance, fireNext, pending: () => timers.length };
}

const spec = (name: string, restart: ServiceSpec['restart'], backoff = { initialMs: 1000, maxMs: 4000, resetAfterMs: 10_000 }): ServiceSpec => ({
  name,
  command: `/usr/bin/${name}`,
  args: [],
  env: {},
  restart,
  backoff,
});

describe('supervisor', () => {
  it('starts services in config order and logs their output with a [name] prefix', () => {
    const h = harness();
    const s = createSupervisor([spec('a', 'always'), spec('b', 'never')], h.deps);
    s.start();
    expect(h.procs.map((p) => p.spec.name)).toEqual(['a', 'b']);
    h.procs[1]!.events.line('stdout', 'hello');
    h.procs[0]!.events.line('stderr', 'oops');
    expect(h.log).toEqual(['info service a: started (pid 100)', 'info service b: started (pid 101)', 'info [b] hello', 'info [a] oops']);
    expect(s.status().map((x) => [x.name, x.state, x.pid])).toEqual([
      ['a', 'running', 100],
      ['b', 'running', 101],
    ]);
  });

  it('restarts a failing on-failure service with growing delays (fake clock), capped', async () => {
    const h = harness();
    const s = createSupervisor([spec('flaky', 'on-failure')], h.deps);
    s.start();
    for (let i = 0; i < 5; i++) {
      await h.advance(500);
      h.procs.at(-1)!.events.exit(1, null);
      if (i < 4) await h.fireNext();
    }
    // Runs of 0.5 s, then waits of 1, 2, 4, 4 s between an exit and the next start.
    expect(h.procs.map((p) => p.at)).toEqual([0, 1500, 4000, 8500, 13_000]);
    expect(h.log.filter((l) => l.includes('restart '))).toEqual([
      'warn service flaky: exited with code 1 after 500 ms; restart 1 in 1 s (restart: on-failure)',
      'warn service flaky: exited with code 1 after 500 ms; restart 2 in 2 s (restart: on-failure)',
      'warn service flaky: exited with code 1 after 500 ms; restart 3 in 4 s (restart: on-failure)',
      'warn service flaky: exited with code 1 after 500 ms; restart 4 in 4 s (restart: on-failure)',
      'warn service flaky: exited with code 1 after 500 ms; restart 5 in 4 s (restart: on-failure)',
    ]);
    expect(s.status()[0]).toMatchObject({ state: 'waiting', starts: 5, nextStartAt: 13_500 + 4000 });
  });

  it('resets the delay after a stable run', async () => {
    const h = harness();
    createSupervisor([spec('svc', 'always')], h.deps).start();
    for (const ranMs of [100, 100, 100, 12_000, 100]) {
      await h.advance(ranMs);
      h.procs.at(-1)!.events.exit(0, null);
      await h.fireNext();
    }
    expect(h.log.filter((l) => l.includes(' in ')).map((l) => /in (\S+ m?s)/.exec(l)![1])).toEqual(['1 s', '2 s', '4 s', '1 s', '2 s']);
  });

  it('does not restart per policy: on-failure after exit 0, never after anything', async () => {
    const h = harness();
    const s = createSupervisor([spec('once', 'on-failure'), spec('broken', 'never')], h.deps);
    s.start();
    h.procs[0]!.events.exit(0, null);
    h.procs[1]!.events.exit(1, null);
    await h.advance(60_000);
    expect(h.procs).toHaveLength(2);
    expect(h.log.slice(2)).toEqual([
      'info service once: exited with code 0 after 0 ms; not restarting (restart: on-failure)',
      'warn service broken: exited with code 1 after 0 ms; not restarting (restart: never)',
    ]);
    expect(s.status().map((x) => x.state)).toEqual(['exited', 'exited']);
  });

  it('treats a process that could not start as a failure', async () => {
    const h = harness();
    const s = createSupervisor([spec('gone', 'on-failure', DEFAULT_BACKOFF)], h.deps);
    s.start();
    h.procs[0]!.events.exit(null, null, 'spawn /usr/bin/gone ENOENT');
    expect(h.log[1]).toBe('warn service gone: could not start (spawn /usr/bin/gone ENOENT) after 0 ms; restart 1 in 1 s (restart: on-failure)');
    expect(s.status()[0]!.lastExit).toMatchObject({ code: null, description: 'could not start' });
  });

  it('stops: no restart, SIGTERM, SIGKILL after the grace period for what is left', async () => {
    const h = harness();
    const s = createSupervisor([spec('polite', 'always'), spec('stubborn', 'always'), spec('waiting', 'always')], h.deps);
    s.start();
    h.procs[2]!.events.exit(1, null); // "waiting" now has a restart timer
    const stopped = s.stop({ termGraceMs: 2000, killGraceMs: 1000 });
    expect(h.procs.map((p) => p.signals)).toEqual([['SIGTERM'], ['SIGTERM'], []]);
    h.procs[0]!.events.exit(0, null);
    await h.advance(2000);
    expect(h.procs[1]!.signals).toEqual(['SIGTERM', 'SIGKILL']);
    h.procs[1]!.events.exit(null, 'SIGKILL');
    await stopped;
    expect(h.procs).toHaveLength(3); // the waiting one was not started again
    expect(h.pending()).toBe(0);
    expect(s.status().map((x) => x.state)).toEqual(['stopped', 'stopped', 'stopped']);
    expect(h.log.filter((l) => /stopping|SIGKILL/.test(l))).toEqual([
      'info stopping services: polite, stubborn',
      'warn services still running after SIGTERM, sending SIGKILL: stubborn',
      'warn service stubborn: killed by SIGKILL after 2 s',
    ]);
  });

  it('stops at once when every service has exited', async () => {
    const h = harness();
    const s = createSupervisor([spec('a', 'never')], h.deps);
    s.start();
    h.procs[0]!.events.exit(0, null);
    await s.stop();
    expect(h.procs[0]!.signals).toEqual([]);
  });
});

describe('supervisor: one at a time (the management API)', () => {
  it('stopOne ends it and keeps it stopped despite restart: always; startOne starts it again with a fresh backoff', async () => {
    const h = harness();
    const s = createSupervisor([spec('a', 'always'), spec('b', 'always')], { ...h.deps, noun: 'container' });
    s.start();
    const stopped = s.stopOne('a', { termGraceMs: 500 });
    expect(h.procs[0]!.signals).toEqual(['SIGTERM']);
    h.procs[0]!.events.exit(null, 'SIGTERM');
    expect(await stopped).toBe(true);
    await h.advance(60_000);
    expect(h.procs).toHaveLength(2);
    expect(s.status().map((x) => [x.name, x.state])).toEqual([
      ['a', 'stopped'],
      ['b', 'running'],
    ]);
    expect(h.log).toContain('info container a: killed by SIGTERM after 0 ms');
    expect(s.startOne('a')).toBe(true);
    expect(h.procs).toHaveLength(3);
    expect(s.status()[0]).toMatchObject({ state: 'running', starts: 2 });
  });

  it('stopOne sends SIGKILL after the grace when SIGTERM is ignored; unknown names are false', async () => {
    const h = harness();
    const s = createSupervisor([spec('a', 'always')], h.deps);
    s.start();
    const stopped = s.stopOne('a', { termGraceMs: 500, killGraceMs: 100 });
    await h.advance(500);
    expect(h.procs[0]!.signals).toEqual(['SIGTERM', 'SIGKILL']);
    h.procs[0]!.events.exit(null, 'SIGKILL');
    expect(await stopped).toBe(true);
    expect(await s.stopOne('zz')).toBe(false);
    expect(s.startOne('zz')).toBe(false);
  });

  it('stopOne of one waiting for its restart cancels the restart', async () => {
    const h = harness();
    const s = createSupervisor([spec('a', 'always')], h.deps);
    s.start();
    h.procs[0]!.events.exit(1, null);
    expect(s.status()[0]!.state).toBe('waiting');
    expect(await s.stopOne('a')).toBe(true);
    await h.advance(60_000);
    expect(h.procs).toHaveLength(1);
    expect(s.status()[0]!.state).toBe('stopped');
  });
});

it("status shows a pid the process learns after the spawn returned (a container's, from crun state)", () => {
  const h = harness();
  let later: { pid: number | undefined; kill: () => void } | undefined;
  const s = createSupervisor([spec('a', 'always')], { ...h.deps, spawn: () => (later = { pid: undefined, kill: () => {} }) });
  s.start();
  expect(s.status()[0]!.pid).toBeUndefined();
  later!.pid = 4242;
  expect(s.status()[0]!.pid).toBe(4242);
});

describe('supervisor failOne', () => {
  it('failOne: an on-failure service that exits 0 on SIGTERM is still restarted, with backoff, the cause logged', async () => {
    const h = harness();
    const s = createSupervisor([spec('web', 'on-failure')], h.deps);
    s.start();
    await h.advance(3000);
    const failing = s.failOne('web', 'unhealthy');
    expect(h.procs[0]!.signals).toEqual(['SIGTERM']);
    h.procs[0]!.events.exit(0, null);
    expect(await failing).toBe(true);
    expect(h.log.at(-1)).toBe('warn service web: exited with code 0 (ended as unhealthy) after 3 s; restart 1 in 1 s (restart: on-failure)');
    await h.fireNext();
    expect(h.procs).toHaveLength(2);
    // Its next exit is judged by its code again.
    h.procs[1]!.events.exit(0, null);
    expect(h.log.at(-1)).toBe('info service web: exited with code 0 after 0 ms; not restarting (restart: on-failure)');
    expect(await s.failOne('web', 'unhealthy')).toBe(false);
  });
});

describe('supervisor policy', () => {
  it('the restart policy and backoff in effect at an exit decide (a reloaded secondary config), not the ones at creation', async () => {
    const h = harness();
    let policy: Pick<ServiceSpec, 'restart' | 'backoff'> = { restart: 'never', backoff: { initialMs: 1000, maxMs: 4000, resetAfterMs: 10_000 } };
    const s = createSupervisor([spec('web', 'always')], { ...h.deps, policy: () => policy });
    s.start();
    h.procs[0]!.events.exit(1, null);
    expect(h.log.at(-1)).toBe('warn service web: exited with code 1 after 0 ms; not restarting (restart: never)');
    expect(s.status()[0]!.restart).toBe('never');
    policy = { restart: 'on-failure', backoff: { initialMs: 250, maxMs: 250, resetAfterMs: 10_000 } };
    s.startOne('web');
    h.procs[1]!.events.exit(2, null);
    expect(h.log.at(-1)).toBe('warn service web: exited with code 2 after 0 ms; restart 2 in 250 ms (restart: on-failure)');
  });
});

describe('supervisor retry', () => {
  it('a run that could not start for a passing reason (retry) is started again with backoff, even under restart: never', async () => {
    const h = harness();
    const s = createSupervisor([spec('app', 'never', { initialMs: 500, maxMs: 4000, resetAfterMs: 60_000 })], h.deps);
    s.start();
    h.procs[0]!.events.exit(null, null, 'registry unreachable', { retry: true });
    expect(h.log.at(-1)).toBe('warn service app: could not start (registry unreachable) after 0 ms; retry 1 in 500 ms');
    await h.fireNext();
    h.procs[1]!.events.exit(null, null, 'registry unreachable', { retry: true });
    expect(h.log.at(-1)).toBe('warn service app: could not start (registry unreachable) after 0 ms; retry 2 in 1 s');
    await h.fireNext();
    // Once its code ran, the policy decides again.
    h.procs[2]!.events.exit(1, null);
    expect(h.log.at(-1)).toBe('warn service app: exited with code 1 after 0 ms; not restarting (restart: never)');
  });
});
