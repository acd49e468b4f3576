/**
 * `kiln.hang=<stage>` (diagnostics): the init stops serving its event loop for good, as a bug that spins forever
 * would. Nothing the init does runs any more — timers, signals, services' output, the watchdog's pets — so a test can
 * prove that a hung init does not leave a dead device behind: the hardware watchdog resets it (device/watchdog).
 * A busy loop rather than a blocking wait: a hang from a bug keeps a CPU busy, and the watchdog must fire all the same.
 */
import type { Log } from '../base/log.ts';

/** The line said before the event loop stops, so the console shows where the hang began. */
export function hangMessage(stage: string): string {
  return `kiln.hang=${stage}: blocking the init's event loop (diagnostics)`;
}

/** Never returns. */
export function blockEventLoop(log: Log, stage: string): never {
  log.warn(hangMessage(stage));
  for (;;) {
    // Spin: nothing else in this process runs again.
  }
}
