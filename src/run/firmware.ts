/**
 * The UEFI firmware for a run: the read-only code image, and a private copy of the variable store. Each run starts
 * from the pristine VARS template, so boot entries or variables a previous guest wrote never leak into the next run,
 * and the system-wide template is never written — unless the run keeps its state (`kiln run --keep-disk`): then the
 * store is kept beside the disk and BootNext, BootOrder and Boot#### survive from run to run, as on hardware.
 */
import { access, constants, copyFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { KilnError } from '../util/errors.js';
import { aptInstallHint, type ArchSpec, type FirmwarePair, type SecureBootKeys } from './arch.js';

async function readable(file: string): Promise<boolean> {
  try {
    await access(file, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first candidate pair whose code and vars both exist. */
export async function findFirmware(spec: ArchSpec, candidates: readonly FirmwarePair[] = spec.firmware): Promise<FirmwarePair> {
  for (const pair of candidates) {
    if ((await readable(pair.code)) && (await readable(pair.vars))) return pair;
  }
  throw new KilnError(
    'FIRMWARE_MISSING',
    `No UEFI firmware for ${spec.arch}: none of ${candidates.map((c) => c.code).join(', ')} (with its VARS file) exists`,
    { hint: aptInstallHint(spec.firmwarePackage) },
  );
}

/**
 * The variable store kept at `kept`: created from the template on first use (through a temporary file, so a failed
 * copy leaves none), used in place afterwards. A file there that is not a store of this firmware (another size) is
 * refused: QEMU would reject or misread it.
 */
export async function keptFirmware(pair: FirmwarePair, kept: string): Promise<FirmwarePair> {
  const template = (await stat(pair.vars)).size;
  const existing = await stat(kept).catch(() => undefined);
  if (existing === undefined) {
    const temp = `${kept}.${process.pid}.tmp`;
    try {
      await copyFile(pair.vars, temp);
      await rename(temp, kept);
    } catch (error) {
      await rm(temp, { force: true });
      throw new KilnError('RUN_VARS', `${kept}: cannot create the kept UEFI variable store (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
  } else if (!existing.isFile() || existing.size !== template) {
    throw new KilnError('RUN_VARS', `${kept} is not a UEFI variable store of ${path.basename(pair.code)} (${existing.size} bytes, want ${template})`, {
      hint: 'Remove it to start from fresh variables (the disk beside it keeps its partitions).',
    });
  }
  return { code: pair.code, vars: kept };
}

/**
 * The kept variable store of a kept disk: beside it, named after it. A Secure Boot run keeps its own (OVMF's secboot
 * build takes the same size of store), so a store without keys is never mistaken for one with them.
 */
export function varsBeside(disk: string, secureBoot?: SecureBootKeys): string {
  return secureBoot === undefined ? `${disk}.vars` : `${disk}.secure-boot-${secureBoot}.vars`;
}

/** Copies the VARS template into `dir` (the run's temp dir); returns the pair to hand QEMU. */
export async function prepareFirmware(pair: FirmwarePair, dir: string): Promise<FirmwarePair> {
  const vars = path.join(dir, path.basename(pair.vars));
  await copyFile(pair.vars, vars);
  return { code: pair.code, vars };
}
