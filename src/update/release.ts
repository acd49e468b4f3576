/**
 * A build made installable: its signed statement (device/contract/update/statement.ts) — name, version, build id,
 * architecture, and the size and SHA-256 of the UEFI executable — for `kiln update` and `kiln push`.
 */
import type { KeyObject } from 'node:crypto';
import { sha256File } from '../inputs/cache.js';
import { STATEMENT_TYPE, type FirmwareStatement } from '../../device/contract/update/statement.ts';
import type { BuildResult } from '../pipeline/build.js';
import { KILN_VERSION } from '../version.js';
import { signStatement, type SignedStatement } from './keys.js';

export interface Release {
  arch: BuildResult['arch'];
  /** The UEFI executable on the host. */
  efi: string;
  signed: SignedStatement;
}

export async function statementOf(build: Pick<BuildResult, 'name' | 'arch' | 'efi' | 'size' | 'buildId'>, version: string): Promise<FirmwareStatement> {
  return {
    type: STATEMENT_TYPE,
    name: build.name,
    version,
    buildId: build.buildId,
    arch: build.arch,
    size: build.size,
    sha256: await sha256File(build.efi),
    kiln: KILN_VERSION,
  };
}

export async function releaseOf(build: Pick<BuildResult, 'name' | 'arch' | 'efi' | 'size' | 'buildId'>, version: string, key: KeyObject): Promise<Release> {
  return { arch: build.arch, efi: build.efi, signed: signStatement(await statementOf(build, version), key) };
}
