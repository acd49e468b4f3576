/**
 * Where each partition of `storage` goes on the disk: a pure plan, checked before anything is built or written.
 * Partitions follow the config's order, each on a 1 MiB boundary after the previous one; a "rest" partition (the
 * last) takes what is left before the backup GPT. Errors name the config file, the key path and the partition.
 */
import type { Partition, Storage } from '../../device/contract/config/storage-schema.ts';
import { FAT32_MIN_SIZE_BYTES } from '../formats/fat/index.js';
import { GPT_ALIGNMENT, GPT_HEAD_SECTORS, GPT_TAIL_SECTORS, SECTOR_SIZE } from '../formats/gpt/index.js';
import { KilnError } from '../util/errors.js';
import { SLOT_LABELS } from '../../device/contract/config/update-schema.ts';
import { MiB, alignDown, alignUp, formatSize, parseSize } from './size.js';

/** Without --size, a disk with a "rest" partition is this big (a sparse file: free space costs nothing). */
export const DEFAULT_DISK_BYTES = 1024 * MiB;
/** ... unless the fixed partitions leave the rest less than this; then the disk grows to leave it. */
const DEFAULT_REST_MIN_BYTES = 256 * MiB;
/** mkfs.ext4 refuses smaller; a journal alone takes 1 MiB of a tiny filesystem. */
export const EXT4_MIN_BYTES = 2 * MiB;

/** An EFI System Partition as the storage schema describes one, with the schema's defaults. */
export function espPartition(label: string, size: string): Partition {
  return { label, filesystem: 'vfat', size, esp: true, options: [], required: true, fsck: false };
}

/** The layout `kiln disk` uses for a config without a storage section: just the ESP. */
export const DEFAULT_STORAGE: Storage = {
  waitSeconds: 10,
  partitions: [espPartition('ESP', '64M')],
};

/**
 * The storage a config's disk has: its own, or DEFAULT_STORAGE with an ESP big enough for what goes on it. Several
 * architectures' UKIs need more than 64 MiB (a fast aarch64 UKI alone is ~74 MB); with `layout: source` the ESP also
 * holds each architecture's Node and libraries (~125 MB) and the shared /src: 160 MiB per architecture + 32.
 */
export function storageOf(config: {
  storage?: Storage;
  layout: 'initramfs' | 'source';
  arch: string | readonly string[];
  update?: { slotSize?: string };
}): Storage {
  const storage = storageWithoutSlots(config);
  return config.update === undefined ? storage : withSlots(storage, slotSizeOf(config));
}

/**
 * Each boot slot's size: the config's `update.slotSize`, else what one firmware of this layout needs with room to
 * grow — 64 MiB for a UKI (initramfs), and with `layout: source` also the tree: the ESP's 160 MiB per architecture + 32.
 */
export function slotSizeOf(config: Pick<Parameters<typeof storageOf>[0], 'layout' | 'arch' | 'update'>): string {
  if (config.update?.slotSize !== undefined) return config.update.slotSize;
  const arches = typeof config.arch === 'string' ? 1 : config.arch.length;
  return config.layout === 'source' ? `${160 * arches + 32}M` : '64M';
}

/**
 * With `update`, the two boot slots follow the ESP: FAT32 partitions of the Microsoft basic data type (not the ESP
 * type, so firmware makes no boot entries of its own for them), never mounted by the storage stage.
 */
function withSlots(storage: Storage, slotSize: string): Storage {
  const slots: Partition[] = SLOT_LABELS.map((label) => ({ label, filesystem: 'vfat', size: slotSize, esp: false, options: [], required: false, fsck: false }));
  const esp = storage.partitions.findIndex((p) => p.esp);
  return { ...storage, partitions: [...storage.partitions.slice(0, esp + 1), ...slots, ...storage.partitions.slice(esp + 1)] };
}

function storageWithoutSlots(config: Parameters<typeof storageOf>[0]): Storage {
  if (config.storage !== undefined) return config.storage;
  const arches = typeof config.arch === 'string' ? 1 : config.arch.length;
  if (config.layout !== 'source' && arches === 1) return DEFAULT_STORAGE;
  const size = config.layout === 'source' ? 160 * arches + 32 : 96 * arches;
  return { ...DEFAULT_STORAGE, partitions: [{ ...DEFAULT_STORAGE.partitions[0]!, size: `${size}M` }] };
}

/** The FAT label of the config's ESP, as kiln disk writes it (upper case): what `layout: source` boots from. */
export function espLabel(config: Parameters<typeof storageOf>[0]): string {
  return (storageOf(config).partitions.find((p) => p.esp)?.label ?? DEFAULT_STORAGE.partitions[0]!.label).toUpperCase();
}

export interface PlannedPartition {
  /** Index in storage.partitions; the GPT entry is index + 1 (vda1, vda2, ...). */
  index: number;
  partition: Partition;
  offsetBytes: number;
  sizeBytes: number;
  /** How errors name the config, e.g. "examples/gateway.yml". */
  configName: string;
  /** The GPT partition name. @default the label */
  gptName?: string;
}

/**
 * How messages name a partition, or one of its keys: "gateway.yml: storage.partitions[1].content (DATA)".
 * @example partitionWhere(plan.partitions[1], 'content')
 */
export function partitionWhere(p: Pick<PlannedPartition, 'configName' | 'index' | 'partition'>, key?: string): string {
  return `${p.configName}: storage.partitions[${p.index}]${key === undefined ? '' : `.${key}`} (${p.partition.label})`;
}

export interface DiskPlan {
  diskSizeBytes: number;
  partitions: PlannedPartition[];
}

export interface PlanOptions {
  /** Whole disk size (--size, or a device's size); undefined = just enough (see DEFAULT_DISK_BYTES). */
  sizeBytes?: number;
  /** How errors name the config, e.g. "examples/gateway.yml". */
  configName: string;
  /** Where --size came from, for messages: "--size 1G", "/dev/sdb (32 GiB)". */
  sizeSource?: string;
}

/**
 * Lays out `storage` on a disk. Throws `KilnError` with code DISK_LAYOUT naming the partition for: no ESP,
 * an unparseable or too small size, a table that does not fit the disk.
 * @example planDisk(config.storage, { configName: 'gateway.yml', sizeBytes: 2 ** 30 }).partitions[1].offsetBytes
 */
export function planDisk(storage: Storage, options: PlanOptions): DiskPlan {
  const where = (index: number, key?: string) => partitionWhere({ configName: options.configName, index, partition: storage.partitions[index] }, key);
  const layoutError = (message: string, hint?: string) => new KilnError('DISK_LAYOUT', message, { hint });
  if (storage.partitions.length === 0) {
    throw layoutError(`${options.configName}: storage.partitions is empty; a disk needs at least the EFI System Partition`, ESP_HINT);
  }
  if (!storage.partitions.some((p) => p.esp)) {
    throw layoutError(`${options.configName}: storage.partitions has no EFI System Partition (esp: true), so the disk could not boot`, ESP_HINT);
  }
  if (options.sizeBytes !== undefined && (!Number.isSafeInteger(options.sizeBytes) || options.sizeBytes % SECTOR_SIZE !== 0)) {
    throw layoutError(`${options.sizeSource ?? '--size'}: ${options.sizeBytes} bytes is not a whole number of ${SECTOR_SIZE}-byte sectors`);
  }

  // Fixed sizes first: a "rest" partition is sized from what they leave.
  let offset = alignUp(GPT_HEAD_SECTORS * SECTOR_SIZE, GPT_ALIGNMENT);
  const placed: PlannedPartition[] = [];
  let rest: { index: number; offsetBytes: number } | undefined;
  storage.partitions.forEach((partition, index) => {
    if (partition.size.toLowerCase() === 'rest') {
      if (index !== storage.partitions.length - 1 || rest !== undefined) {
        throw layoutError(`${where(index, 'size')}: "rest" is for the last partition only`);
      }
      rest = { index, offsetBytes: offset };
      return;
    }
    const bytes = parseSize(partition.size);
    if (bytes === undefined || bytes <= 0) throw layoutError(`${where(index, 'size')}: "${partition.size}" is not a size like "64M" or "1G"`);
    const sizeBytes = alignUp(bytes, MiB);
    placed.push({ index, partition, offsetBytes: offset, sizeBytes, configName: options.configName });
    offset = alignUp(offset + sizeBytes, GPT_ALIGNMENT);
  });

  const tailBytes = GPT_TAIL_SECTORS * SECTOR_SIZE;
  const fixedEnd = offset;
  let diskSizeBytes: number;
  if (options.sizeBytes !== undefined) diskSizeBytes = options.sizeBytes;
  else if (rest !== undefined) diskSizeBytes = Math.max(DEFAULT_DISK_BYTES, alignUp(fixedEnd + DEFAULT_REST_MIN_BYTES + tailBytes, MiB));
  else diskSizeBytes = alignUp(fixedEnd + tailBytes, MiB);

  // The last byte a partition may use: before the backup GPT (the disk's last 33 sectors).
  const usableEnd = diskSizeBytes - tailBytes;
  const sizeName = options.sizeSource ?? (options.sizeBytes === undefined ? 'the default size' : '--size');
  const last = placed[placed.length - 1];
  if (last !== undefined && last.offsetBytes + last.sizeBytes > usableEnd) {
    const needed = alignUp(last.offsetBytes + last.sizeBytes + tailBytes, MiB) + (rest === undefined ? 0 : MiB);
    throw layoutError(
      `${options.configName}: storage.partitions do not fit the disk: ${describeTable(placed)} end at ${formatSize(last.offsetBytes + last.sizeBytes)}, ` +
        `past the end of the ${formatSize(diskSizeBytes)} disk (${sizeName}) and its backup GPT`,
      `Give a disk of at least ${formatSize(needed)} (--size ${Math.ceil(needed / MiB)}M), or make the partitions smaller.`,
    );
  }
  if (rest !== undefined) {
    const sizeBytes = alignDown(usableEnd - rest.offsetBytes, MiB);
    const partition = storage.partitions[rest.index];
    const minimum = minimumSize(partition);
    if (sizeBytes < minimum) {
      throw layoutError(
        `${where(rest.index, 'size')}: "rest" of ${sizeName} (${formatSize(diskSizeBytes)}) leaves ${formatSize(Math.max(0, sizeBytes))}, ` +
          `but ${partition.filesystem === 'ext4' ? 'an' : 'a'} ${partition.filesystem} partition needs at least ${formatSize(minimum)}`,
        `Give a disk of at least ${formatSize(alignUp(rest.offsetBytes + minimum + tailBytes, MiB))}.`,
      );
    }
    placed.push({ index: rest.index, partition, offsetBytes: rest.offsetBytes, sizeBytes, configName: options.configName });
  }
  for (const p of placed) {
    const minimum = minimumSize(p.partition);
    if (p.sizeBytes < minimum) {
      const why = p.partition.filesystem === 'vfat' ? ' (kiln writes FAT32, which needs 65525 clusters)' : '';
      throw layoutError(
        `${where(p.index, 'size')}: ${formatSize(p.sizeBytes)} is too small for ${p.partition.filesystem}: at least ${formatSize(minimum)}${why}`,
      );
    }
  }
  return { diskSizeBytes, partitions: placed.sort((a, b) => a.index - b.index) };
}

const ESP_HINT = 'Add one, e.g. { label: ESP, filesystem: vfat, size: 64M, esp: true } as the first partition.';

function minimumSize(partition: Partition): number {
  return partition.filesystem === 'vfat' ? alignUp(FAT32_MIN_SIZE_BYTES, MiB) : EXT4_MIN_BYTES;
}

function describeTable(placed: readonly PlannedPartition[]): string {
  return placed.map((p) => `${p.partition.label} ${formatSize(p.sizeBytes)}`).join(' + ');
}
