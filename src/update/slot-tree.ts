/**
 * A `layout: source` firmware as one update payload: a gzipped tar of everything its slot holds — the UKI at its slot path
 * (EFI/kiln/KILNX64.EFI), linux_<arch>/ (Node, the libraries, the build stamp the first stage looks for) and src/
 * (kiln's TypeScript and the programs). The device unpacks it into the inactive slot (device/update/install-tree.ts).
 *
 * Written by GNU tar (Debian's, on every host) with each varying field fixed — names in sorted order, mtime 0, owner
 * and group 0 by number, modes normalised, no folders (FAT keeps none of that), links followed (FAT has none) — so a build gives the same bytes on
 * every run, hence the same signed digest. GNU format: paths under src/ outgrow ustar's 100 bytes, and the device's
 * reader (device/formats/tar) reads GNU long names. gzip -n (no name, no time): an aarch64 tree of 125 MB travels as
 * 45 MB, and the device's zlib unpacks it as it streams.
 */
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ARCH_TABLE, type Arch } from '../config/arch.js';
import { archDir, SHARED_DIR } from '../rootfs/source-root.js';
import { KilnError } from '../util/errors.js';
import { execOk } from '../util/exec.js';
import { SLOT_EFI_FILE } from '../../device/contract/config/update-schema.ts';

export interface SlotTreeInput {
  arch: Arch;
  /** The UKI on the host. */
  efi: string;
  /** The folder the stick's files are relative to (the build's output folder). */
  stickDir: string;
  /** This architecture's stick files, relative to `stickDir`: linux_<arch>/… and src/…. */
  files: readonly string[];
}

/** Writes the slot's tar to `out` (in `scratch`, which the caller removes). */
export async function writeSlotTree(input: SlotTreeInput, out: string, scratch: string): Promise<void> {
  // The UKI goes in under its slot path from a folder of its own: no renaming inside tar.
  const efiRoot = path.join(scratch, `slot-efi-${input.arch}`);
  const slotEfi = SLOT_EFI_FILE[input.arch];
  await mkdir(path.join(efiRoot, path.posix.dirname(slotEfi)), { recursive: true });
  await copyFile(input.efi, path.join(efiRoot, slotEfi));
  const list = path.join(scratch, `slot-files-${input.arch}`);
  await writeFile(list, [...input.files].sort().join('\n') + '\n');
  await execOk(
    'tar',
    [
      '--create',
      `--file=${out}`,
      '--format=gnu',
      '--use-compress-program=gzip -n -6',
      '--no-recursion',
      '--dereference',
      '--hard-dereference',
      '--numeric-owner',
      '--owner=0',
      '--group=0',
      '--mtime=@0',
      '--mode=a=r,u+w',
      '-C',
      input.stickDir,
      '--verbatim-files-from',
      `--files-from=${list}`,
      '-C',
      efiRoot,
      slotEfi,
    ],
    `the ${input.arch} slot's tree`,
  );
}

/**
 * The stick files `kiln build` left beside an EFI (`kiln update out/BOOTX64.EFI` of a layout: source build): its
 * architecture's linux_<arch>/ and the shared src/, relative to the EFI's folder.
 */
export async function stickFilesBeside(efi: string, arch: Arch): Promise<string[]> {
  const dir = path.dirname(efi);
  const files: string[] = [];
  for (const top of [archDir(ARCH_TABLE[arch].deb), SHARED_DIR]) {
    const entries = await readdir(path.join(dir, top), { recursive: true, withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      throw new KilnError('UPDATE_BAD_TARGET', `${efi} is built with layout: source, and its ${top}/ is not beside it (${error.code ?? error.message})`, {
        hint: 'Name the output folder kiln build wrote (the EFI with linux_<arch>/ and src/ beside it), or the config.',
      });
    });
    for (const e of entries) if (e.isFile()) files.push(path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'));
  }
  return files;
}
