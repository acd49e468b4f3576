/**
 * The crash path. If PID 1 dies the kernel panics, and a panic without `panic=` hangs the device forever; so the
 * init catches its own failures, prints why, flushes disks and reboots. If even reboot(2) fails it exits non-zero:
 * the kernel panics and `panic=-1` on the command line reboots at once. Nothing here waits or retries.
 */
import type { Libc } from '../sys/libc.ts';
import { RB_AUTOBOOT } from '../sys/libc.ts';
import type { Log } from '../base/log.ts';

export interface CrashDeps {
  /** Undefined when libc itself could not be bound (then only the exit is left). */
  libc: Libc | undefined;
  log: Log;
  exit: (code: number) => void;
}

/** Message and stack of an error and of its causes, for the console. */
export function describeCrash(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 5; depth++) {
    if (current instanceof Error) {
      parts.push(current.stack ?? `${current.name}: ${current.message}`);
      current = current.cause;
    } else {
      parts.push(String(current));
      current = undefined;
    }
  }
  return parts.join('\ncaused by: ');
}

let crashing = false;

/** Report `error`, sync, reboot. Called from the process-wide handlers; never returns normally on a device. */
export function crash(error: unknown, deps: CrashDeps): void {
  if (crashing) {
    // A failure while handling a failure: stop here rather than loop.
    deps.exit(1);
    return;
  }
  crashing = true;
  try {
    deps.log.error(`FATAL: init crashed: ${describeCrash(error)}`);
    if (deps.libc === undefined) throw new Error('libc unavailable, cannot reboot');
    deps.libc.sync();
    deps.log.error('rebooting after crash');
    deps.libc.reboot(RB_AUTOBOOT);
    throw new Error('reboot(2) returned');
  } catch (rebootError) {
    deps.log.error(`cannot reboot (${rebootError instanceof Error ? rebootError.message : String(rebootError)}), exiting so the kernel panics`);
    deps.exit(1);
  }
}

/** Only for tests: the module-level guard otherwise lasts for the process. */
export function resetCrashStateForTests(): void {
  crashing = false;
}
