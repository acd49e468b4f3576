/**
 * The boot disk for a run: a GPT disk with one FAT32 ESP holding the image at the firmware's removable-media path
 * (`EFI/BOOT/BOOTX64.EFI`), so the firmware boots it with no boot entries, from a fresh VARS store.
 */
import { readFile } from 'node:fs/promises';
import { KilnError } from '../util/errors.js';
import { writeEspDisk } from '../disk/esp-disk.js';
import { espFilesBesideEfi } from '../disk/esp-files.js';
import type { ArchSpec } from './arch.js';

export async function writeBootDisk(efi: string, spec: ArchSpec, outPath: string): Promise<void> {
  let data: Uint8Array;
  try {
    data = await readFile(efi);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new KilnError('RUN_NO_IMAGE', `${efi}: cannot read the EFI image (${code ?? String(err)})`, {
      hint: code === 'ENOENT' ? 'Build it first with `kiln build`.' : undefined,
    });
  }
  // Default size: the image plus a little free space. The disk is a throwaway copy for this one run.
  await writeEspDisk(outPath, await espFilesBesideEfi(efi, data, spec.arch));
}
