/**
 * The Secure Boot signature of a UKI: an Authenticode signature (SHA-256, the signer's certificate embedded), which
 * UEFI firmware checks against its db before it runs the image. osslsigncode writes it because it takes the signing
 * time as an argument: the same UKI, key and time give the same bytes, where sbsign stamps the current time (the
 * tests judge with sbverify, a second implementation). The bytes are reproducible for one osslsigncode version:
 * 2.5 (bookworm) and 2.9 (bookworm-backports) lay out the signature differently.
 */
import { rename, rm } from 'node:fs/promises';
import { KilnError } from '../util/errors.js';
import { exec, missingTool, type ExecResult } from '../util/exec.js';
import { tempBeside } from '../inputs/cache.js';
import { checkSigner, shown, type Signer } from './signing-key.js';

export type { Signer } from './signing-key.js';

/**
 * Signs the EFI executable at `efiPath` in place: the signer is checked first (signing-key.ts), the signed image is
 * written to a temporary file beside it and renamed over it only when osslsigncode succeeded, so the file is either
 * the old one or the complete signed one. A signature already there is replaced.
 *
 * @example
 * await signUki('out/BOOTX64.EFI', { key: 'keys/db.key', cert: 'keys/db.pem' }, 0);
 */
export async function signUki(efiPath: string, signer: Signer, epochSeconds: number): Promise<void> {
  if (!Number.isSafeInteger(epochSeconds) || epochSeconds < 0) throw new RangeError(`signUki: signing time ${epochSeconds} is not whole seconds since 1970`);
  await checkSigner(signer);
  const signed = tempBeside(efiPath);
  try {
    const args = [
      'sign',
      '-h',
      'sha256',
      // -time (2.4 and later; -st before): the signing time attribute, the one thing that would differ run to run.
      '-time',
      String(epochSeconds),
      '-certs',
      signer.cert,
      '-key',
      signer.key,
      ...(signer.passphrase === undefined ? [] : ['-readpass', '/dev/stdin']),
      '-in',
      efiPath,
      '-out',
      signed,
    ];
    const r = signer.passphrase === undefined ? await exec('osslsigncode', args) : await withPassphrase(args, signer.passphrase);
    if (r.code !== 0) {
      throw new KilnError(
        'SIGN_FAILED',
        `${shown(efiPath)}: osslsigncode could not sign it: ${osslsigncodeMessage(r.stdout, r.stderr) || `exit code ${r.code}`}`,
      );
    }
    await rename(signed, efiPath);
  } finally {
    await rm(signed, { force: true });
  }
}

/** osslsigncode's own words: its first line that is not libcrypto's error stack nor "Failed" (2.5 writes them on stdout, 2.9 on stderr). */
function osslsigncodeMessage(stdout: string, stderr: string): string {
  const lines = `${stderr}\n${stdout}`
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && l !== 'Failed' && !/^[0-9A-F]+:error:/.test(l));
  return lines[0] ?? '';
}

/**
 * osslsigncode reads a passphrase from a file (-readpass), which keeps it off the command line. /dev/stdin works
 * only when stdin is a pipe, and Node gives a child a socket (open(2) of /proc/self/fd/0 fails on one), so cat
 * relays it through a pipe of the shell's: the passphrase touches neither the disk nor `ps`.
 */
async function withPassphrase(args: string[], passphrase: string): Promise<ExecResult> {
  const r = await exec('sh', ['-c', 'cat | osslsigncode "$@"', 'sh', ...args], { input: passphrase });
  if (r.code === 127) throw missingTool('osslsigncode');
  return r;
}
