/**
 * Bootable disk images: a GPT disk whose EFI System Partition (FAT32) holds the boot files. OVMF and real
 * firmware boot `EFI/BOOT/BOOTX64.EFI` from such a disk with no boot entries configured.
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FAT32_MIN_SIZE_BYTES, encodeFat32Extents, fat32SizeFor, type Fat32Image, type FatFile } from '../formats/fat/index.js';
import { GPT_ALIGNMENT, GPT_TAIL_SECTORS, GptPartitionType, SECTOR_SIZE, encodeGpt, type EncodedGpt } from '../formats/gpt/index.js';
import { KilnError } from '../util/errors.js';

const MiB = 1024 * 1024;
/** Free space left in a default-sized ESP: a tenth of the files, at least 1 MiB. */
const ESP_FREE_FRACTION = 0.1;
const ESP_MIN_FREE_BYTES = MiB;
const ESP_PARTITION_NAME = 'EFI System Partition';
const DEFAULT_LABEL = 'ESP';

export interface EspDiskOptions {
  /**
   * Size of the whole disk image in bytes, a multiple of 512. The ESP gets what the GPT leaves, in whole MiB.
   * @default the files plus 10% (at least 1 MiB) free, rounded up to whole MiB, at least FAT32's minimum
   */
  sizeBytes?: number;
  /** FAT volume label. @default 'ESP' */
  label?: string;
  /** Makes the disk and partition GUIDs and the volume ID a function of this string. @default a hash of label and files */
  seed?: string;
}

/** Where everything goes on an ESP disk; pure, so it can be checked without writing. */
export interface EspDiskLayout {
  gpt: EncodedGpt;
  /** The ESP's FAT32 volume; its extents are relative to `espOffset`. */
  esp: Fat32Image;
  espOffset: number;
}

/**
 * Lays out a GPT disk with one FAT32 EFI System Partition holding `files`, starting at 1 MiB.
 * Throws `KilnError` ('DISK_TOO_SMALL') when `sizeBytes` cannot hold the files, `TypeError` for bad file names.
 * @example layoutEspDisk([{ path: 'EFI/BOOT/BOOTX64.EFI', data }]).gpt.diskSizeBytes
 */
export function layoutEspDisk(files: readonly FatFile[], options: EspDiskOptions = {}): EspDiskLayout {
  const label = options.label ?? DEFAULT_LABEL;
  const seed = options.seed ?? contentSeed(files, label);
  const payload = files.reduce((sum, f) => sum + f.data.length, 0);
  const needed = fat32SizeFor(files, 0);
  let espSize: number;
  if (options.sizeBytes === undefined) {
    espSize = fat32SizeFor(files, Math.max(ESP_MIN_FREE_BYTES, Math.ceil(payload * ESP_FREE_FRACTION)));
  } else {
    const size = options.sizeBytes;
    if (!Number.isSafeInteger(size) || size <= 0 || size % SECTOR_SIZE !== 0) {
      throw new KilnError('DISK_BAD_SIZE', `Disk size must be a positive multiple of ${SECTOR_SIZE} bytes, not ${size}`);
    }
    // Between the 1 MiB-aligned start and the backup GPT, in whole MiB.
    espSize = Math.floor((size - GPT_TAIL_SECTORS * SECTOR_SIZE - GPT_ALIGNMENT) / MiB) * MiB;
    if (espSize < needed) {
      const minimum = needed + 2 * MiB;
      throw new KilnError(
        'DISK_TOO_SMALL',
        `A ${formatMiB(size)} disk is too small for ${files.length} file(s) of ${formatMiB(payload)}: ` +
          `the FAT32 ESP needs ${formatMiB(needed)} (FAT32 alone needs ${formatMiB(FAT32_MIN_SIZE_BYTES)}), the disk at least ${formatMiB(minimum)}`,
      );
    }
  }
  const gpt = encodeGpt({
    seed,
    diskSizeBytes: options.sizeBytes,
    partitions: [{ type: GptPartitionType.efiSystem, name: ESP_PARTITION_NAME, sizeBytes: espSize }],
  });
  const partition = gpt.partitions[0];
  const esp = encodeFat32Extents({
    sizeBytes: espSize,
    files,
    label,
    volumeId: createHash('sha256').update(`${seed}\0fat volume id`).digest().readUInt32LE(0),
    hiddenSectors: partition.firstLba,
  });
  return { gpt, esp, espOffset: partition.offsetBytes };
}

/**
 * Writes a GPT disk image at `outPath` whose only partition is a FAT32 EFI System Partition holding `files`
 * (e.g. `EFI/BOOT/BOOTX64.EFI`). The image is written to a temporary file beside `outPath` and renamed
 * into place, so `outPath` is either the old file or the complete new one. Regions no file covers are holes.
 * @example await writeEspDisk('build/disk.img', [{ path: 'EFI/BOOT/BOOTX64.EFI', data: uki }])
 */
export async function writeEspDisk(outPath: string, files: readonly { path: string; data: Uint8Array }[], options?: EspDiskOptions): Promise<void> {
  const layout = layoutEspDisk(files, options);
  const temp = join(dirname(outPath), `.${basename(outPath)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  let handle: FileHandle | undefined;
  try {
    handle = await open(temp, 'wx', 0o644);
    await handle.truncate(layout.gpt.diskSizeBytes);
    await writeAt(handle, layout.gpt.head, 0);
    for (const { offset, bytes } of layout.esp.extents) await writeAt(handle, bytes, layout.espOffset + offset);
    await writeAt(handle, layout.gpt.tail, layout.gpt.tailOffset);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temp, outPath);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await rm(temp, { force: true });
    const code = (error as NodeJS.ErrnoException).code;
    throw new KilnError('DISK_WRITE_FAILED', `${outPath}: cannot write the disk image (${code ?? String(error)})`, { cause: error });
  }
}

async function writeAt(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < bytes.length;) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

/** Equal inputs give equal images (reproducible builds); different inputs practically never share GUIDs. */
function contentSeed(files: readonly FatFile[], label: string): string {
  const hash = createHash('sha256').update(`kiln esp disk\0${label}\0`);
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const file of sorted) hash.update(`${file.path}\0${file.data.length}\0`).update(file.data);
  return hash.digest('hex');
}

function formatMiB(bytes: number): string {
  const mib = bytes / MiB;
  return `${Number.isInteger(mib) ? mib : mib.toFixed(1)} MiB`;
}
