/**
 * A UEFI executable kiln built, as `kiln update` takes it without its config (`kiln update out/BOOTX64.EFI`): the
 * name, version and build id from its `.osrel` section (IMAGE_ID, IMAGE_VERSION, BUILD_ID), the architecture from
 * its PE machine type. A `layout: source` EFI (KILN_LAYOUT=source) brings the stick tree beside it: its slot holds both.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ARCHES, ARCH_TABLE } from '../config/arch.js';
import { decodePe, peSectionBytes } from '../formats/pe/index.js';
import { KilnError } from '../util/errors.js';
import type { ReleasableBuild } from './release.js';
import { stickFilesBeside } from './slot-tree.js';

export type EfiBuild = ReleasableBuild & { version: string };

export async function buildOfEfi(file: string, label: string): Promise<EfiBuild> {
  const bytes = await readFile(file).catch((error: NodeJS.ErrnoException) => {
    throw new KilnError('UPDATE_BAD_TARGET', `${label}: cannot read (${error.code ?? error.message})`);
  });
  let osrel: string;
  let machine: number;
  try {
    const pe = decodePe(bytes);
    machine = pe.machine;
    osrel = Buffer.from(peSectionBytes(bytes, pe, '.osrel') ?? []).toString('utf8');
  } catch (error) {
    throw new KilnError('UPDATE_BAD_TARGET', `${label}: not a UEFI executable (${(error as Error).message})`);
  }
  const field = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(osrel)?.[1]?.replace(/^"|"$/g, '');
  const name = field('IMAGE_ID');
  const buildId = field('BUILD_ID');
  const version = field('IMAGE_VERSION');
  if (field('ID') !== 'kiln' || name === undefined || buildId === undefined || version === undefined) {
    throw new KilnError('UPDATE_BAD_TARGET', `${label}: not a firmware kiln built (its .osrel has no kiln IMAGE_ID, IMAGE_VERSION and BUILD_ID)`, {
      hint: 'Pass the config instead (kiln update builds it), or an EFI from kiln build of this version.',
    });
  }
  const arch = ARCHES.find((a) => ARCH_TABLE[a].peMachine === machine);
  if (arch === undefined) throw new KilnError('UPDATE_BAD_TARGET', `${label}: PE machine 0x${machine.toString(16)} is neither x86_64 nor aarch64`);
  const stick = field('KILN_LAYOUT') === 'source' ? { dir: path.dirname(file), files: await stickFilesBeside(file, arch) } : undefined;
  return { name, arch, efi: file, size: bytes.length, buildId, version, ...(stick === undefined ? {} : { stick }) };
}
