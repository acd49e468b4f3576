/**
 * Boot stage "storage": finds the partitions of config.storage by filesystem LABEL, checks them where asked,
 * and mounts them with their options. A required partition that is missing or unmountable makes the boot
 * *degraded* — said on the console with what was expected and what was found — and the boot goes on: a device
 * that cannot reach its data partition must still be reachable to be repaired. Never a panic, never a hang
 * (the wait is bounded by storage.waitSeconds).
 */
import type { Partition } from '../contract/config/storage-schema.ts';
import type { StageContext } from '../base/context.ts';
import { checkFilesystem } from './fsck.ts';
import { nodeStorageIo, type StorageIo } from './io.ts';
import { describeSeen, type Filesystem, type PartitionMatch } from './match.ts';
import { describeOptions, mountArguments } from '../contract/config/mount-options.ts';
import { scanForPartitions } from './scan.ts';
import { errorMessage } from '../contract/error-message.ts';

/** What the stage uses of the boot's StageContext. */
export type StorageContext = Pick<StageContext, 'libc' | 'fs' | 'log' | 'config' | 'mounted' | 'now' | 'sleep'>;

export async function storageStage(ctx: StorageContext, io: StorageIo = nodeStorageIo): Promise<string> {
  const storage = ctx.config.storage;
  if (storage === undefined || storage.partitions.length === 0) return 'no partitions configured';
  const scan = await scanForPartitions({ fs: ctx.fs, readAt: io.readAt, now: ctx.now, sleep: ctx.sleep }, storage.partitions, storage.waitSeconds * 1000);

  const failures: string[] = [];
  const summary: string[] = [];
  const fail = (partition: Partition, why: string) => {
    const text = `${partition.required ? 'required' : 'optional'} partition ${expected(partition)} ${why}`;
    if (partition.required) failures.push(text);
    else ctx.log.warn(text);
  };

  // Parents before children: /data before /data/log, whatever the config's order.
  for (const match of inMountOrder(scan.matches)) {
    const { partition, found } = match;
    if (found === undefined) {
      fail(partition, match.problem === 'not found' && scan.timedOut ? `not found after ${seconds(scan.waitedMs)}` : (match.problem ?? 'not found'));
      continue;
    }
    if (match.problem !== undefined) ctx.log.warn(`${partition.label}: ${match.problem}`);
    const outcome = await mountOne(ctx, io, partition, found);
    if (outcome.ok) summary.push(outcome.summary);
    else fail(partition, outcome.why);
  }

  if (failures.length > 0) {
    ctx.log.error(`degraded: ${failures.join('; ')}. Found: ${describeSeen(scan.devices, scan.seen)}`);
    if (ctx.config.debug) io.startConsoleShell(ctx.log, 'the boot is degraded');
    else ctx.log.info('degraded: the device boots on without it; with debug: true in the config it would get a console shell');
    return `degraded (${failures.length} required partition${failures.length === 1 ? '' : 's'} unavailable)${summary.length > 0 ? `; ${summary.join('; ')}` : ''}`;
  }
  return summary.join('; ') || 'nothing to mount';
}

type MountOutcome = { ok: true; summary: string } | { ok: false; why: string };

async function mountOne(ctx: StorageContext, io: StorageIo, partition: Partition, found: Filesystem): Promise<MountOutcome> {
  const { label, filesystem, mount } = partition;
  const where = found.device.path;
  if (partition.fsck) {
    const checked = await checkFilesystem(io, partition, where);
    if (checked.kind === 'failed') return { ok: false, why: `on ${where}: ${checked.note}` };
    if (checked.kind === 'unavailable') ctx.log.warn(`${label}: ${checked.note}`);
    else ctx.log.info(`${label} (${filesystem}) ${where}: ${checked.note}`);
  } else if (found.probe.hasErrors === true) {
    ctx.log.warn(`${label} (${filesystem}) ${where}: the filesystem recorded errors; "fsck: true" would check it before mounting`);
  }
  if (mount === undefined) return { ok: true, summary: `${label} on ${where} (not mounted)` };

  let args;
  try {
    args = mountArguments(partition.options);
  } catch (error) {
    return { ok: false, why: `has bad options: ${errorMessage(error)}` };
  }
  try {
    ctx.fs.mkdir(mount, 0o755);
    ctx.libc.mount(where, mount, filesystem, args.flags, args.data);
  } catch (error) {
    return { ok: false, why: `on ${where} could not be mounted at ${mount}: ${errorMessage(error)}` };
  }
  ctx.mounted.push(mount);
  const options = describeOptions(partition.options);
  ctx.log.info(`${label} (${filesystem}) ${where} → ${mount}${options === 'defaults' ? '' : ` (${options})`}`);
  return { ok: true, summary: `${label} → ${mount}` };
}

/** "DATA (ext4 → /data)" */
function expected(partition: Partition): string {
  return `${partition.label} (${partition.filesystem}${partition.mount === undefined ? '' : ` → ${partition.mount}`})`;
}

function inMountOrder(matches: readonly PartitionMatch[]): PartitionMatch[] {
  const depth = (m: PartitionMatch) => (m.partition.mount === undefined ? 0 : m.partition.mount.split('/').filter(Boolean).length);
  return [...matches].sort((a, b) => depth(a) - depth(b));
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
