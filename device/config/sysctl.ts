/**
 * Boot stage "sysctl": writes each of settings().sysctl to /proc/sys (`net.ipv4.ip_forward` →
 * /proc/sys/net/ipv4/ip_forward), reads it back, and names each one that failed. A bad setting never stops the boot.
 */
import type { HostFs } from '../sys/host-fs.ts';
import type { StageContext } from '../base/context.ts';
import { errorMessage } from '../contract/error-message.ts';

export type SysctlValue = string | number | boolean;

export interface SysctlOutcome {
  name: string;
  /** What the kernel reads back after the write (whitespace collapsed). */
  value?: string;
  error?: string;
}

/** `net.ipv4.ip_forward` → `/proc/sys/net/ipv4/ip_forward` (the schema allows no "/" or empty part in a name). */
export function sysctlPath(name: string): string {
  return `/proc/sys/${name.split('.').join('/')}`;
}

/** What is written: booleans as 1/0, like sysctl.conf. */
export function sysctlText(value: SysctlValue): string {
  return typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
}

function reason(error: unknown, value: SysctlValue): string {
  switch ((error as { code?: string }).code) {
    case 'ENOENT':
      return 'no such setting';
    case 'EACCES':
    case 'EPERM':
      return 'read-only setting';
    case 'EINVAL':
    case 'ERANGE':
      return `the kernel rejected the value ${JSON.stringify(sysctlText(value))}`;
    default:
      return errorMessage(error);
  }
}

export function applySysctl(fs: HostFs, entries: Readonly<Record<string, SysctlValue>>): SysctlOutcome[] {
  return Object.entries(entries).map(([name, value]) => {
    const path = sysctlPath(name);
    try {
      fs.writeText(path, `${sysctlText(value)}\n`);
    } catch (error) {
      return { name, error: reason(error, value) };
    }
    try {
      return { name, value: fs.readText(path).trim().replace(/\s+/g, ' ') };
    } catch {
      // Some settings are write-only; the write worked.
      return { name, value: sysctlText(value) };
    }
  });
}

const LISTED = 8;

/** "2 set: vm.swappiness=10, kernel.printk=4 4 1 7; 1 failed: net.ipv4.ip_fowrard" */
export function summarizeSysctl(outcomes: readonly SysctlOutcome[]): string {
  if (outcomes.length === 0) return 'none set';
  const set = outcomes.filter((o) => o.error === undefined);
  const failed = outcomes.filter((o) => o.error !== undefined);
  const list = (items: string[]) => items.slice(0, LISTED).join(', ') + (items.length > LISTED ? ', …' : '');
  const parts = [`${set.length} set${set.length > 0 ? `: ${list(set.map((o) => `${o.name}=${o.value}`))}` : ''}`];
  if (failed.length > 0) parts.push(`${failed.length} failed: ${list(failed.map((o) => o.name))}`);
  return parts.join('; ');
}

/** Logs each failure by name; returns the summary for the stage line. */
export function applyAndReport(ctx: Pick<StageContext, 'fs' | 'log'>, entries: Readonly<Record<string, SysctlValue>>): string {
  const outcomes = applySysctl(ctx.fs, entries);
  for (const o of outcomes) {
    if (o.error !== undefined) ctx.log.error(`sysctl: ${o.name}: ${o.error}`);
    else ctx.log.debug(`sysctl: ${o.name} = ${o.value} (${sysctlPath(o.name)})`);
  }
  return summarizeSysctl(outcomes);
}

export async function sysctlStage(ctx: Pick<StageContext, 'fs' | 'log' | 'settings'>): Promise<string> {
  return applyAndReport(ctx, ctx.settings().sysctl ?? {});
}
