/**
 * The UEFI firmware for a run: the read-only code image, and a private copy of the variable store. Each run starts
 * from the pristine VARS template, so boot entries or variables a previous guest wrote never leak into the next run,
 * and the system-wide template is never written.
 */
import { access, constants, copyFile } from 'node:fs/promises';
import path from 'node:path';
import { KilnError } from '../util/errors.js';
import { aptInstallHint, type ArchSpec, type FirmwarePair } from './arch.js';

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

/** Copies the VARS template into `dir` (the run's temp dir); returns the pair to hand QEMU. */
export async function prepareFirmware(pair: FirmwarePair, dir: string): Promise<FirmwarePair> {
  const vars = path.join(dir, path.basename(pair.vars));
  await copyFile(pair.vars, vars);
  return { code: pair.code, vars };
}
