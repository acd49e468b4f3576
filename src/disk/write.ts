/**
 * Writes a planned disk: GPT (protective MBR, both headers, partition names = labels), FAT32 partitions from
 * kiln's own encoder (the ESP holding the EFI), ext4 partitions from mkfs.ext4 at their offsets. To an image
 * file through a temporary file and a rename (never a partial image), or in place to a block device.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { encodeFat32Extents, type Fat32Image, type FatFile } from '../formats/fat/index.js';
import { GptPartitionType, encodeGpt, seededGuid, type EncodedGpt } from '../formats/gpt/index.js';
import { KilnError } from '../util/errors.js';
import { contentFolder, readFatContent } from './content.js';
import { exec } from '../util/exec.js';
import { makeExt4, sbinTool, type Ext4Options } from './ext4.js';
import { partitionWhere, type DiskPlan, type PlannedPartition } from './plan.js';
import { MiB, formatSize } from './size.js';
import { SLOT_LABELS } from '../../device/contract/config/update-schema.ts';

export interface DiskSource {
  plan: DiskPlan;
  /** What the ESP holds besides its content folder: EFI/BOOT/BOOTX64.EFI. */
  bootFiles: FatFile[];
  /** What the first boot slot (KILN_A) holds on an updatable disk: the same UKIs at the slot's path. */
  slotFiles?: FatFile[];
  /** Relative content folders are resolved against it. */
  configDir: string;
  /** Makes GUIDs, FAT serials and ext4 UUIDs a function of the inputs (reproducible images). */
  seed: string;
  /** Seconds since the epoch for file system times; 0 = the FAT epoch / now for ext4. */
  mtime: number;
}

/** What each partition got, for the command's summary. */
export interface WrittenPartition {
  number: number;
  label: string;
  filesystem: 'vfat' | 'ext4';
  esp: boolean;
  offsetBytes: number;
  sizeBytes: number;
  contentDir?: string;
}

/** Everything computed before the first byte is written, so bad content fails before a file or device is touched. */
interface Prepared {
  gpt: EncodedGpt;
  fat: { planned: PlannedPartition; image: Fat32Image }[];
  ext4: { planned: PlannedPartition; options: Omit<Ext4Options, 'target'> }[];
  written: WrittenPartition[];
}

async function prepare(source: DiskSource): Promise<Prepared> {
  const { plan, seed } = source;
  const gpt = encodeGpt({
    seed,
    diskSizeBytes: plan.diskSizeBytes,
    partitions: plan.partitions.map((p) => ({
      type: p.partition.esp
        ? GptPartitionType.efiSystem
        : p.partition.filesystem === 'vfat'
          ? GptPartitionType.microsoftBasicData
          : GptPartitionType.linuxFilesystem,
      name: p.gptName ?? p.partition.label,
      sizeBytes: p.sizeBytes,
      offsetBytes: p.offsetBytes,
    })),
  });
  const prepared: Prepared = { gpt, fat: [], ext4: [], written: [] };
  for (const planned of plan.partitions) {
    const { partition } = planned;
    const folder = await contentFolder(planned, source.configDir);
    prepared.written.push({
      number: planned.index + 1,
      label: partition.label,
      filesystem: partition.filesystem,
      esp: partition.esp,
      offsetBytes: planned.offsetBytes,
      sizeBytes: planned.sizeBytes,
      contentDir: folder,
    });
    if (partition.filesystem === 'vfat') {
      const files = [
        ...(partition.esp ? source.bootFiles : []),
        ...(partition.label === SLOT_LABELS[0] && !partition.esp ? (source.slotFiles ?? []) : []),
        ...(folder === undefined ? [] : await readFatContent(folder, partitionWhere(planned, 'content'))),
      ];
      prepared.fat.push({ planned, image: encodeFat(planned, files, source, folder !== undefined) });
    } else {
      const id = (purpose: string) => seededGuid(seed, `${purpose} ${planned.index}`).toLowerCase();
      prepared.ext4.push({
        planned,
        options: {
          offsetBytes: planned.offsetBytes,
          sizeBytes: planned.sizeBytes,
          label: partition.label,
          uuid: id('ext4 uuid'),
          hashSeed: id('ext4 hash seed'),
          contentDir: folder,
          mtime: source.mtime,
        },
      });
    }
  }
  return prepared;
}

/**
 * The FAT32 volume of a planned partition. Too many files for its size is a KilnError naming the partition; a bad
 * file name is one naming its content folder when it has one (the user's files), else the codec's own error (the
 * boot files are kiln's).
 */
function encodeFat(planned: PlannedPartition, files: FatFile[], source: Pick<DiskSource, 'seed' | 'mtime'>, fromContent: boolean): Fat32Image {
  const payload = files.reduce((sum, f) => sum + f.data.length, 0);
  try {
    return encodeFat32Extents({
      sizeBytes: planned.sizeBytes,
      files,
      label: planned.partition.label.toUpperCase(),
      volumeId: createHash('sha256').update(`${source.seed}\0fat volume id ${planned.index}`).digest().readUInt32LE(0),
      hiddenSectors: planned.offsetBytes / 512,
      timestamp: source.mtime > 0 ? new Date(source.mtime * 1000) : undefined,
    });
  } catch (error) {
    if (error instanceof RangeError) {
      throw new KilnError(
        'DISK_LAYOUT',
        `${partitionWhere(planned)}: ${formatSize(planned.sizeBytes)} of FAT32 cannot hold its ${files.length} file(s) of ${formatSize(payload)}`,
        {
          hint: `Make the partition bigger (size: ${Math.ceil((payload * 1.1) / MiB) + 34}M would do).`,
          cause: error,
        },
      );
    }
    if (!fromContent) throw error;
    throw new KilnError('DISK_CONTENT', `${partitionWhere(planned, 'content')}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Writes the disk image at `outPath` and returns what each partition got. A temporary file beside it is renamed
 * into place when complete; on any failure it is removed and `outPath` is as it was. Regions nothing was written
 * to stay holes: a 1 GiB image with a 40 MB EFI takes ~60 MB on the host.
 * @example await writeDiskImage('disk.img', { plan, bootFiles: [{ path: 'EFI/BOOT/BOOTX64.EFI', data }], configDir, seed, mtime: 0 })
 */
export async function writeDiskImage(outPath: string, source: DiskSource): Promise<WrittenPartition[]> {
  const prepared = await prepare(source);
  await mkdir(path.dirname(outPath), { recursive: true });
  const temp = path.join(path.dirname(outPath), `.${path.basename(outPath)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'wx', 0o644);
    try {
      await handle.truncate(source.plan.diskSizeBytes);
    } finally {
      await handle.close();
    }
    await writeInto(temp, prepared, { zeroFirst: false, exclusive: false });
    await rename(temp, outPath);
  } catch (error) {
    await rm(temp, { force: true });
    if (error instanceof KilnError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new KilnError('DISK_WRITE_FAILED', `${outPath}: cannot write the disk image (${code ?? String(error)})`, { cause: error });
  }
  return prepared.written;
}

/**
 * Writes the disk onto a whole block device (already confirmed by the caller). The old partition table is wiped
 * first and the new one written last, so a write that fails part-way leaves a disk with no table rather than a
 * table pointing at half-written partitions. Opened O_EXCL: the kernel refuses while anything has it mounted.
 */
export async function writeDiskToDevice(devicePath: string, source: DiskSource): Promise<WrittenPartition[]> {
  const prepared = await prepare(source);
  try {
    await writeInto(devicePath, prepared, { zeroFirst: true, exclusive: true });
  } catch (error) {
    if (error instanceof KilnError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'EBUSY' ? 'it is in use (mounted, or held by another program)' : (code ?? String(error));
    throw new KilnError('DISK_WRITE_FAILED', `${devicePath}: cannot write the disk (${why})`, { cause: error });
  }
  // The kernel keeps the old partitions until told. BLKRRPART first; partx then adds what it may have skipped (it
  // does for loop devices on some kernels). Best effort: a removable disk can simply be replugged.
  await exec(await sbinTool('blockdev'), ['--rereadpt', devicePath]).catch(() => undefined);
  await exec(await sbinTool('partx'), ['-u', devicePath]).catch(() => undefined);
  return prepared.written;
}

/**
 * Rewrites one FAT partition of an existing disk image in place to hold `files` (and nothing else), keeping its
 * place, size and label; the other partitions are never touched. The volume is encoded first, so files that do not
 * fit change nothing. Not atomic: a write that fails part-way leaves this partition unreadable.
 */
export async function rewriteFatPartition(
  image: string,
  planned: PlannedPartition,
  files: FatFile[],
  source: Pick<DiskSource, 'seed' | 'mtime'>,
): Promise<void> {
  const volume = encodeFat(planned, files, source, false);
  const handle = await open(image, 'r+');
  try {
    // Every old FAT sector must go: stale directory sectors would read as entries of the new volume.
    await zero(handle, planned.offsetBytes, planned.sizeBytes);
    for (const extent of volume.extents) await writeAt(handle, extent.bytes, planned.offsetBytes + extent.offset);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeInto(target: string, prepared: Prepared, o: { zeroFirst: boolean; exclusive: boolean }): Promise<void> {
  const flags = constants.O_WRONLY | (o.exclusive ? constants.O_EXCL : 0);
  const { gpt } = prepared;
  let handle = await open(target, flags);
  try {
    if (o.zeroFirst) {
      // Old partition table first, then every FAT partition whole: stale FAT sectors would read as directory entries.
      await zero(handle, 0, gpt.head.length);
      await zero(handle, gpt.tailOffset, gpt.tail.length);
      for (const { planned } of prepared.fat) await zero(handle, planned.offsetBytes, planned.sizeBytes);
    }
    for (const { planned, image } of prepared.fat) {
      for (const extent of image.extents) await writeAt(handle, extent.bytes, planned.offsetBytes + extent.offset);
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  // mkfs.ext4 opens the target itself (exclusively, on a device): nothing of ours may hold it open meanwhile.
  for (const { planned, options } of prepared.ext4) await makeExt4({ ...options, target }, partitionWhere(planned));
  handle = await open(target, flags);
  try {
    await writeAt(handle, gpt.head, 0);
    await writeAt(handle, gpt.tail, gpt.tailOffset);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeAt(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < bytes.length;) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

const ZEROS = new Uint8Array(MiB);

async function zero(handle: FileHandle, offset: number, length: number): Promise<void> {
  for (let done = 0; done < length; done += MiB) await writeAt(handle, ZEROS.subarray(0, Math.min(MiB, length - done)), offset + done);
}
