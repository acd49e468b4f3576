import { describe, expect, it } from 'vitest';
import { fakeWatchdog } from '../testing/fake-watchdog.ts';
import { settingsContext } from '../testing/settings-context.ts';
import type { WatchdogConfig } from '../contract/config/watchdog-schema.ts';
import { DEVICE_WAIT_MS, watchdogStage } from './stage.ts';

const section: WatchdogConfig = { module: 'i6300esb', device: '/dev/watchdog', timeoutSeconds: 30 };

/** The stage against a fake device and a fake timer; the node appears after `appearsAfterMs` of sleeping. */
function setup(options: { watchdog?: WatchdogConfig | null; appearsAfterMs?: number; wd?: Parameters<typeof fakeWatchdog>[0] } = {}) {
  const watchdog = options.watchdog === null ? undefined : (options.watchdog ?? section);
  const env = settingsContext({ watchdog });
  const appearsAfterMs = options.appearsAfterMs ?? 0;
  if (appearsAfterMs === 0) env.fs.files.set('/dev/watchdog', '');
  let slept = 0;
  const sleep = async (ms: number) => {
    slept += ms;
    if (slept >= appearsAfterMs) env.fs.files.set('/dev/watchdog', '');
  };
  const sys = fakeWatchdog(options.wd);
  const timers: { ms: number; fn: () => void; stopped: boolean }[] = [];
  const every = (ms: number, fn: () => void) => {
    const timer = { ms, fn, stopped: false };
    timers.push(timer);
    return () => void (timer.stopped = true);
  };
  return { ...env, sys, timers, slept: () => slept, run: () => watchdogStage({ ...env.ctx, sleep }, { sys, every }) };
}

describe('watchdog stage', () => {
  it('without a watchdog section: off, and no device is touched', async () => {
    const env = setup({ watchdog: null });
    expect(await env.run()).toBe('off (no watchdog section in the config)');
    expect(env.sys.calls).toEqual([]);
    expect(env.timers).toEqual([]);
  });

  it('opens the device, sets the timeout and pets every third of it from a timer', async () => {
    const env = setup();
    expect(await env.run()).toBe('/dev/watchdog (i6300esb), timeout 30 s, pet every 10 s');
    expect(env.sys.calls).toEqual(['open /dev/watchdog', 'settimeout 30']);
    expect(env.timers.map((t) => t.ms)).toEqual([10_000]);
    env.timers[0]!.fn();
    env.timers[0]!.fn();
    expect(env.sys.calls.slice(2)).toEqual(['pet', 'pet']);
    expect(env.sys.armed()).toBe(true);
  });

  it('a clean shutdown stops the pets and disarms the device with the magic close', async () => {
    const env = setup();
    await env.run();
    expect(env.shutdownHooks).toHaveLength(1);
    env.shutdownHooks[0]!();
    expect(env.timers[0]!.stopped).toBe(true);
    expect(env.sys.calls.at(-1)).toBe('magic close');
    expect(env.sys.armed()).toBe(false);
    expect(env.console()).toBe('kiln: watchdog: /dev/watchdog disarmed (magic close)\n');
  });

  it('waits for the device node the driver creates', async () => {
    const env = setup({ appearsAfterMs: 300 });
    expect(await env.run()).toBe('/dev/watchdog (i6300esb), timeout 30 s, pet every 10 s');
    expect(env.slept()).toBe(300);
  });

  it('no device node: one line naming the driver, after a bounded wait, nothing armed', async () => {
    const env = setup({ appearsAfterMs: Infinity });
    await expect(env.run()).rejects.toThrow('/dev/watchdog did not appear within 2 s (driver i6300esb: is its hardware there, and did the module load?)');
    expect(env.slept()).toBe(DEVICE_WAIT_MS);
    expect(env.sys.calls).toEqual([]);
  });

  it('says when the driver chose another timeout, and pets by the one in effect', async () => {
    const env = setup({ watchdog: { ...section, timeoutSeconds: 10 }, wd: { chosen: { 10: 11 } } });
    expect(await env.run()).toBe('/dev/watchdog (i6300esb), timeout 11 s (asked 10 s), pet every 3.7 s');
    expect(env.timers.map((t) => t.ms)).toEqual([3666]);
  });

  it('a refused timeout disarms the device and fails the stage with one line', async () => {
    const env = setup({ wd: { failures: { 'settimeout 30': 'EINVAL' } } });
    await expect(env.run()).rejects.toThrow(
      '/dev/watchdog: cannot set the timeout to 30 s: ioctl(/dev/watchdog, WDIOC_SETTIMEOUT): Invalid argument (EINVAL); disarmed',
    );
    expect(env.sys.armed()).toBe(false);
    expect(env.timers).toEqual([]);
    expect(env.shutdownHooks).toEqual([]);
  });

  it('says when the magic close fails too: the machine will reset', async () => {
    const env = setup({ wd: { failures: { 'settimeout 30': 'EINVAL', 'magic close': 'EIO' } } });
    await expect(env.run()).rejects.toThrow(
      'and the magic close failed too (write(/dev/watchdog, magic close): Input/output error (EIO)): the machine will reset',
    );
    expect(env.sys.armed()).toBe(true);
  });

  it('a failed open is the stage failure, as the kernel said it', async () => {
    const env = setup({ wd: { failures: { 'open /dev/watchdog': 'EBUSY' } } });
    await expect(env.run()).rejects.toThrow('open(/dev/watchdog): Device or resource busy (EBUSY)');
  });

  it('a failing pet is said once, and again when pets work again', async () => {
    const failures: Record<string, string> = { pet: 'EIO' };
    const env = setup({ wd: { failures } });
    await env.run();
    env.timers[0]!.fn();
    env.timers[0]!.fn();
    delete failures.pet;
    env.timers[0]!.fn();
    env.timers[0]!.fn();
    expect(env.console()).toBe(
      'kiln: watchdog: pet failed: write(/dev/watchdog): Input/output error (EIO) (the machine resets in 30 s unless a pet succeeds)\n' +
        'kiln: watchdog: /dev/watchdog petted again\n',
    );
  });
});
