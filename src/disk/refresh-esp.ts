/**
 * A kept disk (`kiln run CONFIG --keep-disk state.img`) gets each new build on its ESP, so the device boots what
 * was just built while its other partitions — its state — stay as the last run left them.
 */
import { open, stat } from 'node:fs/promises';
import type { FatFile } from '../formats/fat/index.js';
import { GptPartitionType, type GptPartition } from '../formats/gpt/index.js';
import { readGptHead } from './gpt-head.js';
import { KilnError } from '../util/errors.js';
import { MiB } from './size.js';
import { espPartition } from './plan.js';
import { rewriteFatPartition } from './write.js';

/**
 * Rewrites the EFI System Partition of the GPT disk image `image` to hold `files` (and nothing else), keeping its
 * place, size and label (through the disk writer's rewriteFatPartition). Returns the partition. Throws KilnError
 * when the image has no GPT or no ESP, or the ESP is too small for the files (then nothing is written).
 */
export async function refreshEsp(image: string, files: readonly FatFile[], label: string): Promise<GptPartition> {
  const size = (await stat(image)).size;
  const handle = await open(image, 'r');
  let esp: GptPartition | undefined;
  try {
    esp = (await readGptHead(handle, size)).partitions.find((p) => p.type === GptPartitionType.efiSystem);
  } catch (error) {
    throw new KilnError('DISK_NOT_KILN', `${image}: not a GPT disk (${(error as Error).message})`, {
      hint: 'Remove it (or choose another --keep-disk path) to start from a new disk.',
    });
  } finally {
    await handle.close();
  }
  if (esp === undefined) throw new KilnError('DISK_NOT_KILN', `${image}: its GPT has no EFI System Partition to put the new build on`);
  const planned = {
    index: esp.number - 1,
    partition: espPartition(label, `${esp.sizeBytes / MiB}M`),
    offsetBytes: esp.offsetBytes,
    sizeBytes: esp.sizeBytes,
    configName: image,
  };
  try {
    await rewriteFatPartition(image, planned, [...files], { seed: `kiln kept disk\0${image}`, mtime: 0 });
  } catch (error) {
    if (!(error instanceof KilnError && error.code === 'DISK_LAYOUT')) throw error;
    throw new KilnError('DISK_LAYOUT', `${image}: its ${esp.sizeBytes / MiB} MiB ESP cannot hold the new build (${(error.cause as Error).message})`, {
      cause: error.cause,
    });
  }
  return esp;
}
