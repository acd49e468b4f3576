/**
 * A kept disk (`kiln run CONFIG --keep-disk state.img`) gets each new build on its ESP, so the device boots what
 * was just built while its other partitions — its state — stay as the last run left them.
 */
import { open, stat } from 'node:fs/promises';
import { encodeFat32Extents, type FatFile } from '../formats/fat/index.js';
import { GptPartitionType, type GptPartition } from '../formats/gpt/index.js';
import { readGptHead } from './gpt-head.js';
import { KilnError } from '../util/errors.js';
import { MiB } from './size.js';

/**
 * Rewrites the EFI System Partition of the GPT disk image `image` to hold `files` (and nothing else), keeping its
 * place, size and label. Returns the partition. Throws KilnError when the image has no GPT or no ESP, or the ESP is
 * too small for the files. Not atomic: a write that fails part-way leaves the ESP unbootable (the data partitions
 * are never touched).
 */
export async function refreshEsp(image: string, files: readonly FatFile[], label: string): Promise<GptPartition> {
  const size = (await stat(image)).size;
  const handle = await open(image, 'r+');
  try {
    let esp: GptPartition | undefined;
    try {
      esp = (await readGptHead(handle, size)).partitions.find((p) => p.type === GptPartitionType.efiSystem);
    } catch (error) {
      throw new KilnError('DISK_NOT_KILN', `${image}: not a GPT disk (${(error as Error).message})`, {
        hint: 'Remove it (or choose another --keep-disk path) to start from a new disk.',
      });
    }
    if (esp === undefined) throw new KilnError('DISK_NOT_KILN', `${image}: its GPT has no EFI System Partition to put the new build on`);
    let volume;
    try {
      volume = encodeFat32Extents({ sizeBytes: esp.sizeBytes, files, label: label.toUpperCase(), hiddenSectors: esp.firstLba });
    } catch (error) {
      throw new KilnError('DISK_LAYOUT', `${image}: its ${esp.sizeBytes / MiB} MiB ESP cannot hold the new build (${(error as Error).message})`, {
        cause: error,
      });
    }
    // Every old FAT sector must go: stale directory sectors would read as entries of the new volume.
    const zeros = new Uint8Array(MiB);
    for (let done = 0; done < esp.sizeBytes; done += MiB) await handle.write(zeros, 0, Math.min(MiB, esp.sizeBytes - done), esp.offsetBytes + done);
    for (const extent of volume.extents) await handle.write(extent.bytes, 0, extent.bytes.length, esp.offsetBytes + extent.offset);
    await handle.sync();
    return esp;
  } finally {
    await handle.close();
  }
}
