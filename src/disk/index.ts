/**
 * `kiln disk`: a config → a whole bootable disk. Checks the layout and the target before the (long) build, builds
 * the EFI, then writes GPT + FAT32 ESP + ext4 partitions to an image file or a block device.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildAll, type BuildResult } from '../pipeline/build.js';
import type { SigningOptions } from '../pipeline/steps/signing.js';
import type { LoadedConfig } from '../config/load.js';
import { resolveConfig } from '../config/resolve.js';
import type { Profile } from '../config/schema.js';
import { sha256 } from '../inputs/cache.js';
import { KilnError } from '../util/errors.js';
import type { Reporter } from '../util/report.js';
import { describeBlockDevice, inspectBlockDevice, type BlockDeviceInfo } from './block-device.js';
import { contentFolder } from './content.js';
import { stageContainerStore } from './container-store.js';
import { planDisk, storageOf, type DiskPlan } from './plan.js';
import { formatSize } from './size.js';
import { espFilesOfBuilds, slotFilesOfBuilds, updatableEspFiles } from './esp-files.js';
import { writeDiskImage, writeDiskToDevice, type WrittenPartition } from './write.js';

export { planDisk, DEFAULT_DISK_BYTES, type DiskPlan } from './plan.js';
export { parseSize, formatSize } from './size.js';
export { describeBlockDevice, type BlockDeviceInfo } from './block-device.js';
export type { WrittenPartition } from './write.js';

export interface DiskTarget {
  /** An image file, written through a temporary file and a rename. */
  out?: string;
  /** A whole block device, written in place after `confirm`. */
  device?: string;
  /** Whole disk size for an image; a device is its own size. */
  sizeBytes?: number;
  /** How --size was written, for messages. */
  sizeText?: string;
}

export interface DiskOptions extends DiskTarget {
  configFile: string;
  profile: Profile;
  cacheRoot: string;
  reporter: Reporter;
  /** Seconds; file times (SOURCE_DATE_EPOCH). */
  mtime: number;
  /** Secure Boot: who signs the EFIs instead of the config's `signing`, and the key's passphrase. */
  signing?: SigningOptions;
  /** Asked before a device is written; resolve true to write it. */
  confirm: (device: BlockDeviceInfo) => Promise<boolean>;
}

export interface DiskResult {
  /** The image file or device written. */
  target: string;
  kind: 'image' | 'device';
  diskSizeBytes: number;
  partitions: WrittenPartition[];
  /** One EFI per architecture the config names, all on the ESP (EFI/BOOT/BOOTX64.EFI, BOOTAA64.EFI). */
  builds: (Pick<BuildResult, 'arch' | 'size' | 'buildId' | 'profile' | 'kernel' | 'signedBy'> & { durationMs: number })[];
  durationMs: number;
}

/** Builds the config's EFI and writes the whole disk. */
export async function makeDisk(o: DiskOptions): Promise<DiskResult> {
  const started = Date.now();
  if ((o.out === undefined) === (o.device === undefined)) {
    throw new KilnError('DISK_BAD_OPTION', 'give exactly one of --out FILE (an image) or --device /dev/sdX (a real disk)');
  }
  const loaded = await resolveConfig(o.configFile); // once: the target checks, every architecture's build, the writer
  const disk = await prepareTarget(loaded, o);
  if (disk.device !== undefined && !(await o.confirm(disk.device))) {
    throw new KilnError('DISK_NOT_CONFIRMED', `${disk.device.path} was not written: not confirmed`);
  }
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'kiln-disk-'));
  try {
    const built = await buildAll({
      resolved: loaded,
      outDir: scratch,
      profile: o.profile,
      cacheRoot: o.cacheRoot,
      reporter: o.reporter,
      mtime: o.mtime,
      signing: o.signing,
    });
    o.reporter.step(`writing the disk ${disk.device === undefined ? 'image' : describeBlockDevice(disk.device)}`);
    const partitions = await writeDisk(loaded, disk, built, o.mtime);
    return {
      target: disk.device?.path ?? path.resolve(o.out!),
      kind: disk.device === undefined ? 'image' : 'device',
      diskSizeBytes: disk.plan.diskSizeBytes,
      partitions,
      builds: built.map((b) => ({
        arch: b.arch,
        size: b.size,
        buildId: b.buildId,
        profile: b.profile,
        kernel: b.kernel,
        ...(b.signedBy === undefined ? {} : { signedBy: b.signedBy }),
        durationMs: b.durationMs,
      })),
      durationMs: Date.now() - started,
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

export interface PreparedTarget {
  plan: DiskPlan;
  out?: string;
  device?: BlockDeviceInfo;
}

/**
 * Everything about the target that can be checked before building: the device (exists, whole, unused), the
 * layout on it, the content folders. So a typo costs seconds, not a build.
 */
export async function prepareTarget(loaded: LoadedConfig, target: DiskTarget): Promise<PreparedTarget> {
  const configName = path.relative(process.cwd(), loaded.file) || loaded.file;
  let device: BlockDeviceInfo | undefined;
  if (target.device !== undefined) {
    if (target.sizeBytes !== undefined) throw new KilnError('DISK_BAD_OPTION', '--size and --device: a device is as big as it is; leave --size out');
    device = await inspectBlockDevice(target.device);
    if (device.users.length > 0) {
      throw new KilnError('DISK_DEVICE_BUSY', `--device ${device.path} is in use: ${device.users.join('; ')}`, {
        hint: 'Unmount it (and stop whatever holds it) first; kiln never writes a disk that is in use.',
      });
    }
  }
  const plan = planDisk(storageOf(loaded.config), {
    configName,
    sizeBytes: device?.sizeBytes ?? target.sizeBytes,
    sizeSource:
      device === undefined ? (target.sizeText === undefined ? undefined : `--size ${target.sizeText}`) : `${device.path} (${formatSize(device.sizeBytes)})`,
  });
  for (const planned of plan.partitions) await contentFolder(planned, loaded.dir);
  return { plan, out: target.out, device };
}

/** Writes `prepared` with the EFIs of `built` (one per architecture) on the ESP. */
export async function writeDisk(
  loaded: LoadedConfig,
  prepared: PreparedTarget,
  built: readonly Pick<BuildResult, 'efi' | 'buildId' | 'arch' | 'images' | 'stick'>[],
  mtime: number,
): Promise<WrittenPartition[]> {
  const staged = await stageContainerStore(loaded.config, prepared.plan, loaded.dir, built);
  try {
    return await writeDiskWith(loaded, { ...prepared, plan: staged.plan }, built, mtime);
  } finally {
    if (staged.dir !== undefined) await rm(staged.dir, { recursive: true, force: true });
  }
}

async function writeDiskWith(
  loaded: LoadedConfig,
  prepared: PreparedTarget,
  built: readonly Pick<BuildResult, 'efi' | 'buildId' | 'arch' | 'stick'>[],
  mtime: number,
): Promise<WrittenPartition[]> {
  const bootFiles = loaded.config.update === undefined ? await espFilesOfBuilds(built) : await updatableEspFiles(built);
  const layout = prepared.plan.partitions.map((p) => `${p.offsetBytes}+${p.sizeBytes}`).join(',');
  const source = {
    plan: prepared.plan,
    bootFiles,
    slotFiles: loaded.config.update === undefined ? undefined : await slotFilesOfBuilds(built),
    configDir: loaded.dir,
    // Not the config's path: the same inputs give the same disk wherever kiln runs.
    seed: sha256(`kiln disk\0${built.map((b) => b.buildId).join(',')}\0${prepared.plan.diskSizeBytes}\0${layout}`),
    mtime,
  };
  return prepared.device !== undefined ? writeDiskToDevice(prepared.device.path, source) : writeDiskImage(path.resolve(prepared.out!), source);
}
