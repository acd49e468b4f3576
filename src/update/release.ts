/**
 * A build made installable: its payload — the UEFI executable, or with `layout: source` the slot's whole tree as a
 * tar (slot-tree.ts) — and its signed statement (device/contract/update/statement.ts): name, version, build id,
 * architecture, and the payload's size and SHA-256. For `kiln update` and `kiln push`.
 */
import type { KeyObject } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { sha256File } from '../inputs/cache.js';
import { STATEMENT_TYPE, TREE_FORMAT, type FirmwareStatement } from '../../device/contract/update/statement.ts';
import type { BuildResult } from '../pipeline/build.js';
import { KILN_VERSION } from '../version.js';
import { signStatement, type SignedStatement } from './keys.js';
import { writeSlotTree } from './slot-tree.js';

export interface Release {
  arch: BuildResult['arch'];
  /** The payload on the host: the EFI, or the slot tree's tar. */
  payload: string;
  signed: SignedStatement;
}

export type ReleasableBuild = Pick<BuildResult, 'name' | 'arch' | 'efi' | 'size' | 'buildId'> & {
  /** layout: source: the stick's files of this architecture, relative to `dir`. */
  stick?: { dir: string; files: readonly string[] };
};

/** The statement of a payload already on disk (`format` "tar" for a slot's tree). */
export async function statementOf(
  build: Pick<BuildResult, 'name' | 'arch' | 'buildId'>,
  version: string,
  payload: { file: string; size: number; format?: typeof TREE_FORMAT },
): Promise<FirmwareStatement> {
  return {
    type: STATEMENT_TYPE,
    name: build.name,
    version,
    buildId: build.buildId,
    arch: build.arch,
    size: payload.size,
    sha256: await sha256File(payload.file),
    kiln: KILN_VERSION,
    ...(payload.format === undefined ? {} : { format: payload.format }),
  };
}

/** Signs a build; a layout: source build's tree is written as a tar into `scratch` (the caller removes it). */
export async function releaseOf(build: ReleasableBuild, version: string, key: KeyObject, scratch: string): Promise<Release> {
  if (build.stick === undefined) {
    const statement = await statementOf(build, version, { file: build.efi, size: build.size });
    return { arch: build.arch, payload: build.efi, signed: signStatement(statement, key) };
  }
  const tar = path.join(scratch, `${build.name}-${build.arch}.tar.gz`);
  await writeSlotTree({ arch: build.arch, efi: build.efi, stickDir: build.stick.dir, files: build.stick.files }, tar, scratch);
  const statement = await statementOf(build, version, { file: tar, size: (await stat(tar)).size, format: TREE_FORMAT });
  return { arch: build.arch, payload: tar, signed: signStatement(statement, key) };
}
