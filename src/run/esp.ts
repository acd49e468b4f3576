/**
 * The boot disk for a run: a GPT disk with one FAT32 ESP holding the image at the firmware's removable-media path
 * (`EFI/BOOT/BOOTX64.EFI`), so the firmware boots it with no boot entries, from a fresh VARS store.
 */
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { KilnError } from '../util/errors.js';
import { writeEspDisk } from '../image/disk.js';
import type { ArchSpec } from './arch.js';
import { readFatContent } from '../disk/content.js';
import { archDir, SHARED_DIR } from '../rootfs/source-root.js';
import { decodePe, peSectionBytes } from '../formats/pe/index.js';
import { ARCH_TABLE } from '../config/arch.js';

/** The UKI's .osrel section, or '' for an EFI that is no UKI. */
function osRelease(uki: Uint8Array): string {
  try {
    return Buffer.from(peSectionBytes(uki, decodePe(uki), '.osrel') ?? []).toString('utf8');
  } catch {
    return '';
  }
}

/**
 * An EFI built with `layout: source` boots only with its stick: `kiln build` leaves the stick's tree beside the
 * EFI (linux_<arch>/ and src/), and it goes onto the run's ESP with it. Nothing for an ordinary EFI.
 */
async function stickBeside(efi: string, uki: Uint8Array, spec: ArchSpec): Promise<{ path: string; data: Uint8Array }[]> {
  const dir = path.dirname(efi);
  const own = archDir(ARCH_TABLE[spec.arch].deb);
  const needsStick = /^KILN_LAYOUT=source$/m.test(osRelease(uki));
  if (!needsStick) return [];
  for (const sub of [path.join(own, 'bin', 'node'), path.join(SHARED_DIR, 'kiln')]) {
    if (
      !(await access(path.join(dir, sub)).then(
        () => true,
        () => false,
      ))
    ) {
      throw new KilnError('RUN_NO_STICK', `${efi} is built with layout: source, and its stick's ${sub} is not beside it`, {
        hint: 'Boot the output folder kiln build wrote (the EFI with linux_<arch>/ and src/ beside it), or a disk from kiln disk.',
      });
    }
  }
  const files = [];
  for (const sub of [own, SHARED_DIR]) {
    for (const f of await readFatContent(path.join(dir, sub), `${efi}: the stick tree beside it`)) files.push({ path: `${sub}/${f.path}`, data: f.data });
  }
  return files;
}

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
  await writeEspDisk(outPath, [{ path: spec.bootPath, data }, ...(await stickBeside(efi, data, spec))]);
}
