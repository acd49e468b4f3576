import { describe, expect, it } from 'vitest';
import { parseBootConfig } from '../contract/boot-config.ts';
import { createLog } from '../base/log.ts';
import { fakeFs } from '../testing/fakes.ts';
import { programsStage, type ProgramsContext } from './stage.ts';
import type { ServiceEvents, ServiceSpec } from './supervisor.ts';

const backoff = { initialMs: 1000, maxMs: 60_000, resetAfterMs: 10_000 };

function setup(programs: unknown[]) {
  const config = parseBootConfig(
    JSON.stringify({ name: 'demo', hostname: 'demo-1', kilnVersion: '0.1.0', buildId: 'b1', arch: 'x86_64', modules: [], programs }),
  );
  const fs = fakeFs({ '/proc/uptime': '12.00 20.00\n' });
  let console = '';
  const ctx: ProgramsContext = {
    config,
    fs,
    log: createLog(
      (t) => (console += t),
      () => 1,
    ),
    settings: () => ({ hostname: 'demo-1' }),
    now: () => 5000,
  };
  const spawned: { spec: ServiceSpec; events: ServiceEvents; signals: string[] }[] = [];
  const spawn = (spec: ServiceSpec, events: ServiceEvents) => {
    const p = { spec, events, signals: [] as string[] };
    spawned.push(p);
    return { pid: 40 + spawned.length, kill: (signal: string) => void p.signals.push(signal) };
  };
  return { ctx, fs, spawned, spawn, console: () => console };
}

describe('programs stage', () => {
  it('starts the services among the programs in order, with PATH and HOME, and writes the status file', () => {
    const t = setup([
      { name: 'greet', command: '/usr/bin/greet', args: [], env: {} },
      { name: 'beat', command: '/usr/bin/beat', args: ['--every', '3'], env: { MODE: 'x' }, service: { restart: 'always', backoff } },
      { name: 'flaky', command: '/usr/bin/flaky', args: [], env: {}, service: { restart: 'on-failure', backoff } },
    ]);
    const handle = programsStage(t.ctx, t.spawn);
    expect(handle.detail).toBe('3 commands; services started: beat, flaky');
    expect(t.spawned.map((p) => [p.spec.command, p.spec.args])).toEqual([
      ['/usr/bin/beat', ['--every', '3']],
      ['/usr/bin/flaky', []],
    ]);
    expect(t.spawned[0]!.spec.env).toEqual({ PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', MODE: 'x' });
    expect(t.fs.dirs).toContain('/run/kiln');
    const writes = t.fs.written.get('/run/kiln/status.json')!;
    const last = JSON.parse(writes.at(-1)!);
    expect(last).toMatchObject({ name: 'demo', hostname: 'demo-1', updatedUptimeMs: 12_000, commands: ['greet', 'beat', 'flaky'] });
    expect(last.services.map((s: { name: string; state: string; pid: number }) => [s.name, s.state, s.pid])).toEqual([
      ['beat', 'running', 41],
      ['flaky', 'running', 42],
    ]);
    t.spawned[1]!.events.exit(1, null);
    expect(JSON.parse(t.fs.written.get('/run/kiln/status.json')!.at(-1)!).services[1]).toMatchObject({ state: 'waiting', nextStartInMs: 1000 });
    expect(t.console()).toContain('kiln: service flaky: exited with code 1 after 0 ms; restart 1 in 1 s (restart: on-failure)\n');
  });

  it('has nothing to start without programs', async () => {
    const t = setup([]);
    const handle = programsStage(t.ctx, t.spawn);
    expect(handle.detail).toBe('no programs');
    await handle.stop();
    expect(t.spawned).toEqual([]);
  });
});
