/**
 * Which architectures a disk image boots: the removable-media boot files on its EFI System Partition
 * (`EFI/BOOT/BOOTX64.EFI`, `EFI/BOOT/BOOTAA64.EFI`), read with kiln's GPT and FAT32 decoders. `kiln run disk.img`
 * boots the guest that matches, and refuses an `--arch` the disk cannot boot instead of leaving the firmware at its
 * shell.
 */
import { open, stat } from 'node:fs/promises';
import { ARCHES, type Arch } from '../config/arch.js';
import { decodeFat32 } from '../formats/fat/index.js';
import { GptPartitionType } from '../formats/gpt/index.js';
import { readGptHead } from '../disk/gpt-head.js';
import { efiPathOnEsp } from '../disk/esp-files.js';

/** The architectures with a boot file on the disk's ESP, x86_64 first; empty when there is no readable ESP. */
export async function diskBootArches(image: string): Promise<Arch[]> {
  const size = (await stat(image)).size;
  const handle = await open(image, 'r');
  try {
    const esp = (await readGptHead(handle, size)).partitions.find((p) => p.type === GptPartitionType.efiSystem);
    if (esp === undefined) return [];
    const bytes = new Uint8Array(esp.sizeBytes);
    await handle.read(bytes, 0, bytes.length, esp.offsetBytes);
    const files = new Set(
      decodeFat32(bytes)
        .entries.filter((e) => e.kind === 'file')
        .map((e) => e.path.toUpperCase()),
    );
    return ARCHES.filter((arch) => files.has(efiPathOnEsp(arch)));
  } catch {
    return [];
  } finally {
    await handle.close();
  }
}
