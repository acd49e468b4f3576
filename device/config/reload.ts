/**
 * SIGHUP to PID 1: read the secondary config again and apply what can change on a running device — the hostname,
 * sysctl settings, the log level. Network and time servers are set up once at boot: a change to them is reported as
 * needing a reboot and the settings in effect keep the running values, so settings() never claims what is not live.
 * An invalid file changes nothing.
 */
import { primarySettings, type DeviceSettings } from '../contract/boot-config.ts';
import type { StageContext } from '../base/context.ts';
import { applyAndReport, sysctlText } from './sysctl.ts';
import type { DataFs } from '../sys/data-fs.ts';
import { mergeSettings } from './merge.ts';
import { readSecondary, saveLastGood } from './secondary-file.ts';
import { errorMessage } from '../contract/error-message.ts';

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Re-reads `path` and applies it; every outcome is logged as "reload: …". */
export function reloadSecondary(ctx: Pick<StageContext, 'libc' | 'fs' | 'log' | 'config' | 'settings' | 'setSettings'>, data: DataFs, path: string): void {
  const { log } = ctx;
  const read = readSecondary(data, path);
  if (!read.ok) {
    for (const problem of read.problems) log.error(`reload: ${problem}`);
    log.warn('reload: nothing changed; the settings in effect stay');
    return;
  }
  saveLastGood({ data, log, tag: 'reload' }, path, read.text);
  const current = ctx.settings();
  const next = mergeSettings(primarySettings(ctx.config), read.secondary);
  const applied: string[] = [];
  const needsReboot: string[] = [];

  if (next.hostname !== current.hostname) {
    try {
      ctx.libc.sethostname(next.hostname);
      applied.push(`hostname ${next.hostname}`);
    } catch (error) {
      log.error(`reload: hostname ${next.hostname}: ${errorMessage(error)}`);
      next.hostname = current.hostname;
    }
  }

  const changed: Record<string, string | number | boolean> = {};
  for (const [name, value] of Object.entries(next.sysctl ?? {})) {
    const before = current.sysctl?.[name];
    if (before === undefined || sysctlText(before) !== sysctlText(value)) changed[name] = value;
  }
  if (Object.keys(changed).length > 0) applied.push(`sysctl ${applyAndReport(ctx, changed)}`);
  for (const name of Object.keys(current.sysctl ?? {})) {
    if (next.sysctl?.[name] === undefined) log.warn(`reload: sysctl ${name} removed: it keeps its value until a reboot`);
  }

  const level = next.log?.level ?? 'info';
  if (level !== (current.log?.level ?? 'info')) {
    log.setLevel(level);
    applied.push(`log level ${level}`);
  }

  // Set up once at boot by their stages: keep the running values in the settings.
  for (const key of ['network', 'time'] as const) {
    if (same(next[key], current[key])) continue;
    log.warn(`reload: ${key} changed: needs a reboot`);
    needsReboot.push(key);
    restore(next, current, key);
  }

  ctx.setSettings(next);
  const summary = applied.length > 0 ? `applied ${applied.join(', ')}` : 'nothing to apply live';
  log.info(`reload: ${path}: ${summary}${needsReboot.length > 0 ? `; needs a reboot: ${needsReboot.join(', ')}` : ''}`);
}

function restore(next: DeviceSettings, current: DeviceSettings, key: 'network' | 'time'): void {
  if (current[key] === undefined) delete next[key];
  else (next as unknown as Record<string, unknown>)[key] = current[key];
}
