import { afterEach, describe, expect, it } from 'vitest';
import { fakeLibc } from '../testing/fakes.ts';
import { BootStageError, InjectedCrash } from './boot.ts';
import { crash, describeCrash, resetCrashStateForTests } from './crash.ts';
import { createLog } from '../base/log.ts';

afterEach(resetCrashStateForTests);

function setup(failures: Record<string, string> = {}) {
  let console = '';
  const exits: number[] = [];
  const libc = fakeLibc(failures);
  const deps = { libc, log: createLog((text) => (console += text)), exit: (code: number) => void exits.push(code) };
  return { libc, deps, exits, console: () => console };
}

describe('describeCrash', () => {
  it('gives the stack of the error and of its cause', () => {
    const error = new BootStageError('mounts', new InjectedCrash('mounts'));
    const text = describeCrash(error);
    expect(text).toMatch(/^BootStageError: boot stage mounts failed: kiln.crash=mounts on the kernel command line\n {4}at /);
    expect(text).toContain('\ncaused by: InjectedCrash: kiln.crash=mounts on the kernel command line\n    at ');
  });
  it('prints non-errors as they are', () => {
    expect(describeCrash('plain string')).toBe('plain string');
  });
});

describe('crash', () => {
  it('prints the cause, syncs and reboots', () => {
    const { libc, deps, exits, console } = setup();
    crash(new Error('boom'), deps);
    expect(console()).toMatch(/^kiln: FATAL: init crashed: Error: boom\nkiln:     at /);
    expect(libc.calls).toEqual(['sync', 'reboot 0x1234567']);
    // The fake reboot returns, as a failed real one would: then exit so the kernel panics (panic=-1 reboots).
    expect(exits).toEqual([1]);
  });
  it('exits non-zero when reboot(2) fails', () => {
    const { deps, exits, console } = setup({ 'reboot 0x1234567': 'EPERM' });
    crash(new Error('boom'), deps);
    expect(console()).toContain('kiln: cannot reboot (reboot(0x1234567): Operation not permitted (EPERM)), exiting so the kernel panics\n');
    expect(exits).toEqual([1]);
  });
  it('exits non-zero without libc', () => {
    const { deps, exits, console } = setup();
    crash(new Error('koffi missing'), { ...deps, libc: undefined });
    expect(console()).toContain('cannot reboot (libc unavailable, cannot reboot)');
    expect(exits).toEqual([1]);
  });
  it('does not recurse on a failure while crashing', () => {
    const { deps, exits, libc } = setup();
    crash(new Error('first'), deps);
    crash(new Error('second'), deps);
    expect(exits).toEqual([1, 1]);
    expect(libc.calls).toEqual(['sync', 'reboot 0x1234567']);
  });
});
