/**
 * What goes on an ESP, in one place: each architecture's UKI at the firmware's removable-media path
 * (`EFI/BOOT/BOOTX64.EFI`, `BOOTAA64.EFI`) and, for `layout: source`, the stick's tree (linux_<arch>/ and the shared
 * src/). `kiln disk`, a kept disk's refresh and `kiln run`'s throwaway ESP all take their file list from here.
 */
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ARCH_TABLE, type Arch } from '../config/arch.js';
import type { FatFile } from '../formats/fat/index.js';
import { decodePe, peSectionBytes } from '../formats/pe/index.js';
import type { BuildResult } from '../pipeline/build.js';
import { archDir, mergeSticks, SHARED_DIR } from '../rootfs/source-root.js';
import { KilnError } from '../util/errors.js';
import { readFatContent } from './content.js';
import { SLOT_EFI_FILE } from '../../device/contract/config/update-schema.ts';

/** Where the firmware looks for an architecture's boot loader on media without boot entries (UEFI 2.10 §3.5.1.1). */
export function efiPathOnEsp(arch: Arch): string {
  return `EFI/BOOT/${ARCH_TABLE[arch].efiName}`;
}

/** The ESP's files for the EFIs of one build run (one per architecture), with the sticks of a `layout: source` build. */
export async function espFilesOfBuilds(built: readonly Pick<BuildResult, 'arch' | 'efi' | 'stick'>[]): Promise<FatFile[]> {
  return [...(await efiFiles(built, efiPathOnEsp)), ...(await stickFiles(built))];
}

/**
 * The ESP of an updatable disk (`update` in the config) holds only the fallback UKIs: with `layout: source` their
 * trees live in the slots (the first stage finds the one stamped with its build), where an update replaces them.
 */
export async function updatableEspFiles(built: readonly Pick<BuildResult, 'arch' | 'efi'>[]): Promise<FatFile[]> {
  return efiFiles(built, efiPathOnEsp);
}

/**
 * The first boot slot's files on an updatable disk: each architecture's UKI at its slot path and, for `layout:
 * source`, the stick's tree, so slot A holds the same firmware as the ESP's fallback and the device starts committed
 * on A. Slot B starts empty.
 */
export async function slotFilesOfBuilds(built: readonly Pick<BuildResult, 'arch' | 'efi' | 'stick'>[]): Promise<FatFile[]> {
  return [...(await efiFiles(built, (arch) => SLOT_EFI_FILE[arch])), ...(await stickFiles(built))];
}

function efiFiles(built: readonly Pick<BuildResult, 'arch' | 'efi'>[], where: (arch: Arch) => string): Promise<FatFile[]> {
  return Promise.all(built.map(async (b) => ({ path: where(b.arch), data: await readFile(b.efi) })));
}

/** layout: source — every architecture's stick files, the shared src/ once (mergeSticks checks it is shared). */
export async function stickFiles(built: readonly Pick<BuildResult, 'arch' | 'stick'>[]): Promise<FatFile[]> {
  const sticks = [];
  for (const b of built) {
    if (b.stick === undefined) continue;
    const dir = b.stick.dir;
    sticks.push({ arch: b.arch, files: await Promise.all(b.stick.files.map(async (f) => ({ path: f, data: await readFile(path.join(dir, f)) }))) });
  }
  return mergeSticks(sticks);
}

/**
 * The ESP's files for an EFI file booted on its own (`kiln run out/BOOTX64.EFI`): the EFI, and when it is built with
 * `layout: source` the stick tree `kiln build` left beside it, without which it cannot boot.
 */
export async function espFilesBesideEfi(efi: string, data: Uint8Array, arch: Arch): Promise<FatFile[]> {
  return [{ path: efiPathOnEsp(arch), data }, ...(await stickBeside(efi, data, arch))];
}

/** The UKI's .osrel section, or '' for an EFI that is no UKI. */
function osRelease(uki: Uint8Array): string {
  try {
    return Buffer.from(peSectionBytes(uki, decodePe(uki), '.osrel') ?? []).toString('utf8');
  } catch {
    return '';
  }
}

async function stickBeside(efi: string, uki: Uint8Array, arch: Arch): Promise<FatFile[]> {
  if (!/^KILN_LAYOUT=source$/m.test(osRelease(uki))) return [];
  const dir = path.dirname(efi);
  const own = archDir(ARCH_TABLE[arch].deb);
  for (const sub of [path.join(own, 'bin', 'node'), path.join(SHARED_DIR, 'kiln')]) {
    const present = await access(path.join(dir, sub)).then(
      () => true,
      () => false,
    );
    if (!present) {
      throw new KilnError('RUN_NO_STICK', `${efi} is built with layout: source, and its stick's ${sub} is not beside it`, {
        hint: 'Boot the output folder kiln build wrote (the EFI with linux_<arch>/ and src/ beside it), or a disk from kiln disk.',
      });
    }
  }
  const files: FatFile[] = [];
  for (const sub of [own, SHARED_DIR]) {
    for (const f of await readFatContent(path.join(dir, sub), `${efi}: the stick tree beside it`)) files.push({ path: `${sub}/${f.path}`, data: f.data });
  }
  return files;
}
