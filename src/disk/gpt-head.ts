/**
 * The GPT of a disk image file, read from its first sectors with kiln's decoder: for the commands that open an
 * existing disk (kiln run's kept disk and boot files, kiln logs). Throws the decoder's error for a file that holds
 * no GPT; each caller says what that means for it.
 */
import type { FileHandle } from 'node:fs/promises';
import { GPT_HEAD_SECTORS, SECTOR_SIZE, decodeGptHead, type GptDisk } from '../formats/gpt/index.js';

export async function readGptHead(handle: FileHandle, diskSizeBytes: number): Promise<GptDisk> {
  const head = new Uint8Array(GPT_HEAD_SECTORS * SECTOR_SIZE);
  await handle.read(head, 0, head.length, 0);
  return decodeGptHead(head, diskSizeBytes);
}
