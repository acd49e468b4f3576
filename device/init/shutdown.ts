/**
 * Clean shutdown: ask every process to stop, give them a few seconds, kill the rest, flush, unmount, power off.
 *
 * Every wait has a deadline, so a process that ignores SIGTERM or a stuck unmount cannot keep the device from
 * powering off.
 */
import type { HostFs } from '../sys/host-fs.ts';
import { RB_AUTOBOOT, RB_POWER_OFF, SIGKILL, SIGTERM, SyscallError, type Libc } from '../sys/libc.ts';
import type { Log } from '../base/log.ts';
import { unmountAll } from './mounts.ts';
import { listProcesses, liveUserProcesses, type ProcessInfo } from '../base/procfs.ts';
import { reapOnce } from '../base/reaper.ts';
import { errorMessage } from '../contract/error-message.ts';

export type ShutdownAction = 'poweroff' | 'reboot';

export interface ShutdownRequest {
  /** Said in the log: "kiln: shutting down (power button)". */
  reason: string;
  action: ShutdownAction;
}

/**
 * Signals that ask PID 1 to shut down. With ctrl-alt-del disabled in the kernel (reboot(RB_DISABLE_CAD)) the key
 * combination arrives as SIGINT; like other inits, it reboots. SIGTERM/SIGUSR2 follow busybox init's convention.
 */
export const SIGNAL_REQUESTS: Readonly<Record<string, ShutdownRequest>> = {
  SIGINT: { reason: 'ctrl-alt-del', action: 'reboot' },
  SIGTERM: { reason: 'SIGTERM', action: 'reboot' },
  SIGUSR2: { reason: 'SIGUSR2', action: 'poweroff' },
};

export const POWER_BUTTON_REQUEST: ShutdownRequest = { reason: 'power button', action: 'poweroff' };
/** A firmware update: into the new firmware (BootNext), or back to the committed one after a failed health gate. */
export const UPDATE_REBOOT: ShutdownRequest = { reason: 'firmware update', action: 'reboot' };

export interface ShutdownDeps {
  libc: Libc;
  fs: HostFs;
  log: Log;
  /** Mount points in the order they were mounted. */
  mounted: readonly string[];
  selfPid: number;
  ownChild: (pid: number) => boolean;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Runs once processes have stopped, before the unmounts (stages' shutdown hooks); must not throw. */
  beforeUnmount?: () => void;
  /** Ends the supervised services (device/programs) with their own grace periods, before every process is signalled. */
  stopServices?: () => Promise<void>;
  /** How long processes get to exit after SIGTERM, then after SIGKILL. */
  termGraceMs?: number;
  killGraceMs?: number;
  pollMs?: number;
}

export const TERM_GRACE_MS = 3000;
export const KILL_GRACE_MS = 1000;
const POLL_MS = 50;

function signalAll(libc: Libc, signal: number): void {
  try {
    libc.kill(-1, signal);
  } catch (error) {
    // ESRCH: there was no other process to signal.
    if (!(error instanceof SyscallError && error.code === 'ESRCH')) throw error;
  }
}

/** Wait until no user process but the init is left, or the deadline passes; returns those still there. */
async function waitForExit(deps: ShutdownDeps, graceMs: number): Promise<ProcessInfo[]> {
  const deadline = deps.now() + graceMs;
  for (;;) {
    reapOnce(deps);
    const left = liveUserProcesses(listProcesses(deps.fs), deps.selfPid);
    if (left.length === 0 || deps.now() >= deadline) return left;
    await deps.sleep(deps.pollMs ?? POLL_MS);
  }
}

function names(processes: readonly ProcessInfo[]): string {
  return processes.map((process) => `${process.comm}[${process.pid}]`).join(', ');
}

/** Run the shutdown sequence and end in reboot(2). Returns only if the kernel refused (then it throws). */
export async function shutdown(request: ShutdownRequest, deps: ShutdownDeps): Promise<void> {
  const { libc, log } = deps;
  const started = deps.now();
  log.info(`shutting down (${request.reason})`);

  if (deps.stopServices !== undefined) {
    try {
      await deps.stopServices();
    } catch (error) {
      log.warn(`stopping services failed: ${errorMessage(error)}`);
    }
  }
  signalAll(libc, SIGTERM);
  let left = await waitForExit(deps, deps.termGraceMs ?? TERM_GRACE_MS);
  if (left.length > 0) {
    log.warn(`still running after SIGTERM, sending SIGKILL: ${names(left)}`);
    signalAll(libc, SIGKILL);
    left = await waitForExit(deps, deps.killGraceMs ?? KILL_GRACE_MS);
    // Only uninterruptible sleep (D) survives SIGKILL; waiting longer would not help.
    if (left.length > 0) log.warn(`still running after SIGKILL: ${names(left)}`);
  }

  deps.beforeUnmount?.();
  libc.sync();
  for (const failure of unmountAll(libc, deps.mounted)) log.warn(`unmount failed: ${failure}`);
  log.info(`${request.action === 'poweroff' ? 'powering off' : 'rebooting'} (shutdown took ${Math.round(deps.now() - started)} ms)`);
  libc.sync();
  libc.reboot(request.action === 'poweroff' ? RB_POWER_OFF : RB_AUTOBOOT);
  throw new Error(`reboot(2) returned for ${request.action}`);
}
