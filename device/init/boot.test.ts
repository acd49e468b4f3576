import { describe, expect, it } from 'vitest';
import { BootStageError, InjectedCrash, runStages, type Stage } from './boot.ts';
import { createLog } from '../base/log.ts';

function setup(crash?: string, hangAt?: string) {
  let console = '';
  let clock = 0;
  const log = createLog((text) => (console += text));
  const ran: string[] = [];
  const stage = (name: string, required: boolean, run: () => string | void = () => undefined): Stage => ({
    name,
    required,
    run: () => {
      ran.push(name);
      clock += 5;
      return run();
    },
  });
  // The real hang never returns; this one notes when it came and what the console said by then.
  const hang = (name: string) => void ran.push(`hang ${name} after: ${console.trim().split('\n').at(-1)}`);
  const deps = { log, now: () => clock, crashAt: () => crash, hangAt: () => hangAt, hang };
  return { stage, deps, ran, console: () => console };
}

describe('runStages', () => {
  it('runs stages in order and logs each with its duration', async () => {
    const { stage, deps, ran, console } = setup();
    const results = await runStages([stage('a', true, () => 'detail a'), stage('b', true)], deps);
    expect(ran).toEqual(['a', 'b']);
    expect(results).toEqual([
      { name: 'a', ok: true, ms: 5 },
      { name: 'b', ok: true, ms: 5 },
    ]);
    expect(console()).toBe('kiln: a: detail a (5 ms)\nkiln: b: ok (5 ms)\n');
  });
  it('stops at a failed required stage with the stage named', async () => {
    const { stage, deps, ran } = setup();
    const failing = stage('mounts', true, () => {
      throw new Error('mount(/proc): No such device (ENODEV)');
    });
    const error = await runStages([failing, stage('later', true)], deps).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BootStageError);
    expect((error as BootStageError).stage).toBe('mounts');
    expect((error as Error).message).toBe('boot stage mounts failed: mount(/proc): No such device (ENODEV)');
    expect(ran).toEqual(['mounts']);
  });
  it('logs a failed optional stage as a warning and goes on', async () => {
    const { stage, deps, ran, console } = setup();
    const failing = stage('power-button', false, () => {
      throw new Error('none found');
    });
    const results = await runStages([failing, stage('reaper', true)], deps);
    expect(ran).toEqual(['power-button', 'reaper']);
    expect(results.map((result) => result.ok)).toEqual([false, true]);
    expect(console()).toContain('kiln: power-button failed (5 ms): none found\n');
  });
  it('fails the stage kiln.crash= names after its work, even an optional one', async () => {
    const { stage, deps, ran } = setup('hostname');
    const error = await runStages([stage('hostname', false), stage('later', true)], deps).catch((e: unknown) => e);
    expect(ran).toEqual(['hostname']);
    expect((error as Error).message).toBe('boot stage hostname failed: kiln.crash=hostname on the kernel command line');
    expect((error as Error).cause).toBeInstanceOf(InjectedCrash);
  });
  it('hangs at the end of the stage kiln.hang= names, after its line', async () => {
    const { stage, deps, ran } = setup(undefined, 'hostname');
    await runStages([stage('config', true), stage('hostname', false, () => 'gw'), stage('network', false)], deps);
    expect(ran).toEqual(['config', 'hostname', 'hang hostname after: kiln: hostname: gw (5 ms)', 'network']);
  });
  it('hangs at a named stage that failed too, after its warning', async () => {
    const failing = () => {
      throw new Error('no such device');
    };
    const { stage, deps, ran } = setup(undefined, 'power-button');
    await runStages([stage('power-button', false, failing), stage('reaper', true)], deps);
    expect(ran).toEqual(['power-button', 'hang power-button after: kiln: power-button failed (5 ms): no such device', 'reaper']);
  });
  it('does not hang without kiln.hang=, nor at a stage it does not name', async () => {
    const { stage, deps, ran } = setup(undefined, 'ready');
    await runStages([stage('config', true), stage('hostname', false)], deps);
    expect(ran).toEqual(['config', 'hostname']);
  });
});
