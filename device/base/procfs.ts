/**
 * The process table as /proc shows it: what the reaper and the shutdown sequence decide on.
 */
import type { HostFs } from '../sys/host-fs.ts';

export interface ProcessInfo {
  pid: number;
  comm: string;
  /** One letter: R running, S sleeping, D disk sleep, Z zombie, T stopped, ... */
  state: string;
  ppid: number;
  /** The task's PF_* flags (field 9 of /proc/<pid>/stat). */
  flags: number;
}

/** PF_KTHREAD (linux/sched.h): kernel threads ignore signals and never exit on request. */
const PF_KTHREAD = 0x00200000;

/**
 * Parse /proc/<pid>/stat. `comm` may itself hold spaces and parentheses, so the fields after it are found from the
 * LAST ')'. Returns undefined for text that is not a stat line (the process may have vanished mid-read).
 */
export function parseProcStat(text: string): ProcessInfo | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 1 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  // After "comm)": state ppid pgrp session tty_nr tpgid flags ...
  const rest = text.slice(close + 2).split(' ');
  const state = rest[0] ?? '';
  const ppid = Number(rest[1]);
  const flags = Number(rest[6]);
  if (!Number.isInteger(pid) || state.length !== 1 || !Number.isInteger(ppid) || !Number.isInteger(flags)) return undefined;
  return { pid, comm: text.slice(open + 1, close), state, ppid, flags };
}

export function isKernelThread(process: ProcessInfo): boolean {
  return (process.flags & PF_KTHREAD) !== 0;
}

/** Every process in /proc; ones that exit while being read are skipped. */
export function listProcesses(fs: HostFs): ProcessInfo[] {
  const processes: ProcessInfo[] = [];
  for (const name of fs.list('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let text: string;
    try {
      text = fs.readText(`/proc/${name}/stat`);
    } catch {
      continue;
    }
    const info = parseProcStat(text);
    if (info !== undefined) processes.push(info);
  }
  return processes;
}

/** User processes other than `selfPid` that have not exited yet: what shutdown waits for. */
export function liveUserProcesses(processes: readonly ProcessInfo[], selfPid: number): ProcessInfo[] {
  return processes.filter((process) => process.pid !== selfPid && !isKernelThread(process) && process.state !== 'Z');
}
