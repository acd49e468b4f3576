/**
 * Zombie reaping for Node as PID 1.
 *
 * Orphans are re-parented to PID 1 and stay zombies until it waits for them. libuv only waits for the children
 * Node itself spawned, by pid; `waitpid(-1)` here would steal their exit statuses (child_process 'exit' events
 * would never fire). So the reaper scans /proc for zombies whose parent is the init and waits for each by pid,
 * skipping the ones Node spawned. Code that spawns children from the init registers them with `trackChild`.
 */
import type { ChildProcess } from 'node:child_process';
import type { HostFs } from '../sys/host-fs.ts';
import { SyscallError, WNOHANG, type Libc } from '../sys/libc.ts';
import { listProcesses, type ProcessInfo } from './procfs.ts';

/** Pids of the children Node spawned itself (libuv reaps those). */
const ownChildren = new Set<number>();

/** Register a child spawned through node:child_process, so the reaper leaves it to libuv. */
export function trackChild(child: ChildProcess): void {
  const pid = child.pid;
  if (pid === undefined) return;
  ownChildren.add(pid);
  child.once('exit', () => ownChildren.delete(pid));
}

/** Callbacks for orphans whose exit status someone needs (a container's process, re-parented from crun). */
const orphanWatchers = new Map<number, (status: number) => void>();

/** Call `onExit` with the wait status when the reaper reaps `pid` (an orphan of the init, not a Node child). */
export function watchOrphanExit(pid: number, onExit: (status: number) => void): void {
  orphanWatchers.set(pid, onExit);
}

export function isOwnChild(pid: number): boolean {
  return ownChildren.has(pid);
}

/** The zombies the init may reap: its own children (orphans re-parented to it) that Node did not spawn. */
export function orphanZombies(processes: readonly ProcessInfo[], selfPid: number, ownChild: (pid: number) => boolean): number[] {
  return processes.filter((process) => process.state === 'Z' && process.ppid === selfPid && !ownChild(process.pid)).map((process) => process.pid);
}

export interface ReaperDeps {
  libc: Libc;
  fs: HostFs;
  selfPid: number;
  ownChild: (pid: number) => boolean;
}

/** Reap what `orphanZombies` picks once; returns the pids reaped. */
export function reapOnce(deps: ReaperDeps): number[] {
  const reaped: number[] = [];
  for (const pid of orphanZombies(listProcesses(deps.fs), deps.selfPid, deps.ownChild)) {
    try {
      const status = { value: 0 };
      if (deps.libc.waitpid(pid, WNOHANG, status) === pid) {
        reaped.push(pid);
        const watcher = orphanWatchers.get(pid);
        orphanWatchers.delete(pid);
        watcher?.(status.value);
      }
    } catch (error) {
      // ECHILD: someone reaped it between the scan and the wait. Anything else is a bug worth seeing.
      if (!(error instanceof SyscallError && error.code === 'ECHILD')) throw error;
    }
  }
  return reaped;
}

/** The slow sweep catches zombies whose SIGCHLD was merged with another (signals do not queue). */
export const SWEEP_INTERVAL_MS = 10_000;

export interface Reaper {
  stop(): void;
}

/**
 * Reap on SIGCHLD and on a slow timer. Several SIGCHLDs in one tick cause one scan. Neither the signal listener nor
 * the timer keeps the event loop alive on its own.
 */
export function startReaper(deps: ReaperDeps, onError: (error: unknown) => void): Reaper {
  let scheduled = false;
  const sweep = () => {
    scheduled = false;
    try {
      reapOnce(deps);
    } catch (error) {
      onError(error);
    }
  };
  const onSigchld = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(sweep);
  };
  process.on('SIGCHLD', onSigchld);
  const timer = setInterval(sweep, SWEEP_INTERVAL_MS);
  timer.unref();
  sweep();
  return {
    stop() {
      process.off('SIGCHLD', onSigchld);
      clearInterval(timer);
    },
  };
}
