/**
 * Boot stage "watchdog": arms the hardware watchdog of boot.json's `watchdog` section and pets it from a timer on
 * the init's event loop. The timer is the point: when the event loop hangs, petting stops and the hardware resets
 * the machine after `timeoutSeconds`, so a hung device comes back on its own. A clean shutdown disarms it with the
 * magic close; a crash leaves it armed (the crash path reboots anyway).
 *
 * Runs right after `modules`, which loads the driver: the device node appears while the driver probes, and the stage
 * waits a little in case it comes later. A failure is one line (the boot goes on, unguarded).
 */
import type { StageContext } from '../base/context.ts';
import { errorMessage } from '../contract/error-message.ts';
import { lazyWatchdog, type WatchdogDevice, type WatchdogSys } from '../sys/watchdog.ts';

/** How long the device node may take to appear after the driver loaded, and how often to look. */
export const DEVICE_WAIT_MS = 2000;
const DEVICE_POLL_MS = 100;

/** Pets per timeout: two may be late (a long synchronous task, a slow console) before the hardware resets. */
const PETS_PER_TIMEOUT = 3;

export interface WatchdogStageDeps {
  sys: WatchdogSys;
  /** Calls `fn` every `ms` until the returned function is called (setInterval). */
  every: (ms: number, fn: () => void) => () => void;
}

const realDeps = (): WatchdogStageDeps => ({
  sys: lazyWatchdog(),
  every: (ms, fn) => {
    const timer = setInterval(fn, ms);
    return () => clearInterval(timer);
  },
});

/** What the stage uses of the boot's context. */
export type WatchdogContext = Pick<StageContext, 'fs' | 'log' | 'config' | 'sleep' | 'onShutdown'>;

/** Seconds as the log says them: "10 s", "3.3 s". */
function seconds(ms: number): string {
  return `${Number.isInteger(ms / 1000) ? ms / 1000 : (ms / 1000).toFixed(1)} s`;
}

async function waitForDevice(ctx: WatchdogContext, path: string): Promise<boolean> {
  for (let waited = 0; ; waited += DEVICE_POLL_MS) {
    if (ctx.fs.exists(path)) return true;
    if (waited >= DEVICE_WAIT_MS) return false;
    await ctx.sleep(DEVICE_POLL_MS);
  }
}

/** Sets the timeout, or disarms the device and says why: a watchdog on a timeout nobody chose is worse than none. */
function setTimeoutOrDisarm(device: WatchdogDevice, path: string, asked: number): number {
  try {
    return device.setTimeout(asked);
  } catch (error) {
    let disarmed = 'disarmed';
    try {
      device.magicClose();
    } catch (closeError) {
      disarmed = `and the magic close failed too (${errorMessage(closeError)}): the machine will reset`;
    }
    throw new Error(`${path}: cannot set the timeout to ${asked} s: ${errorMessage(error)}; ${disarmed}`);
  }
}

export async function watchdogStage(ctx: WatchdogContext, deps: WatchdogStageDeps = realDeps()): Promise<string> {
  const config = ctx.config.watchdog;
  if (config === undefined) return 'off (no watchdog section in the config)';
  const { device: path, module, timeoutSeconds } = config;

  if (!(await waitForDevice(ctx, path))) {
    throw new Error(`${path} did not appear within ${seconds(DEVICE_WAIT_MS)} (driver ${module}: is its hardware there, and did the module load?)`);
  }
  const device = deps.sys.open(path);
  const timeout = setTimeoutOrDisarm(device, path, timeoutSeconds);
  const petMs = Math.floor((timeout * 1000) / PETS_PER_TIMEOUT);

  // A failed pet is said once, not every few seconds; the next success says so.
  let failing = false;
  const stop = deps.every(petMs, () => {
    try {
      device.pet();
      if (failing) ctx.log.info(`watchdog: ${path} petted again`);
      failing = false;
    } catch (error) {
      if (!failing) ctx.log.warn(`watchdog: pet failed: ${errorMessage(error)} (the machine resets in ${timeout} s unless a pet succeeds)`);
      failing = true;
    }
  });
  ctx.onShutdown(() => {
    stop();
    device.magicClose();
    ctx.log.info(`watchdog: ${path} disarmed (magic close)`);
  });

  const asked = timeout === timeoutSeconds ? '' : ` (asked ${timeoutSeconds} s)`;
  return `${path} (${module}), timeout ${timeout} s${asked}, pet every ${seconds(petMs)}`;
}
