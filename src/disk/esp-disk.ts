/**
 * The throwaway boot disk of `kiln run EFI`: a GPT disk whose only partition, a FAT32 EFI System Partition, holds the
 * boot files (esp-files.ts). OVMF and real firmware boot `EFI/BOOT/BOOTX64.EFI` from it with no boot entries.
 */
import { createHash } from 'node:crypto';
import { FAT32_MIN_SIZE_BYTES, fat32SizeFor, type FatFile } from '../formats/fat/index.js';
import { GPT_ALIGNMENT, GPT_TAIL_SECTORS, GptPartitionType, SECTOR_SIZE, resolveGptLayout } from '../formats/gpt/index.js';
import { KilnError } from '../util/errors.js';
import { espPartition, type DiskPlan } from './plan.js';
import { MiB } from './size.js';
import { writeDiskImage } from './write.js';

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

/**
 * The one-partition plan of an ESP disk holding `files`: the ESP starting at 1 MiB, sized for them. Pure, so it can
 * be checked without writing. Throws `KilnError` ('DISK_TOO_SMALL') when `sizeBytes` cannot hold the files.
 * @example layoutEspDisk([{ path: 'EFI/BOOT/BOOTX64.EFI', data }]).diskSizeBytes
 */
export function layoutEspDisk(files: readonly FatFile[], options: EspDiskOptions = {}): DiskPlan {
  const label = options.label ?? DEFAULT_LABEL;
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
  // Only the places matter here (GUIDs come from the writer's seed): seed the layout so it stays pure.
  const layout = resolveGptLayout({
    seed: 'layout',
    diskSizeBytes: options.sizeBytes,
    partitions: [{ type: GptPartitionType.efiSystem, name: ESP_PARTITION_NAME, sizeBytes: espSize }],
  });
  const partition = espPartition(label, `${espSize / MiB}M`);
  return {
    diskSizeBytes: layout.diskSizeBytes,
    partitions: [
      { index: 0, partition, offsetBytes: layout.partitions[0]!.offsetBytes, sizeBytes: espSize, configName: 'the ESP disk', gptName: ESP_PARTITION_NAME },
    ],
  };
}

/**
 * Writes a GPT disk image at `outPath` whose only partition is a FAT32 EFI System Partition holding `files`
 * (e.g. `EFI/BOOT/BOOTX64.EFI`): the plan above, written by kiln's one disk writer (write.ts), so `outPath` is
 * either the old file or the complete new one. Regions no file covers are holes.
 * @example await writeEspDisk('out/disk.img', [{ path: 'EFI/BOOT/BOOTX64.EFI', data: uki }])
 */
export async function writeEspDisk(outPath: string, files: readonly FatFile[], options: EspDiskOptions = {}): Promise<void> {
  const plan = layoutEspDisk(files, options);
  const seed = options.seed ?? contentSeed(files, options.label ?? DEFAULT_LABEL);
  await writeDiskImage(outPath, { plan, bootFiles: [...files], configDir: '', seed, mtime: 0 });
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
