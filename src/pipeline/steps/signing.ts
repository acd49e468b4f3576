/**
 * Build step: Secure Boot signing. `signerOf` decides who signs — the command's --sign-key/--sign-cert over the
 * config's `signing` section, whose paths are relative to the config file like `update.publicKey` — and checks the
 * pair before the long steps. `signedUkiBytes` is the build's last step on the UKI: the signed bytes take the place of
 * the unsigned ones before the build writes its output, so a failed signature leaves no unsigned EFI behind.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ResolvedConfig } from '../../config/resolve.js';
import { signUki, type Signer } from '../../image/sign.js';
import { checkSigner } from '../../image/signing-key.js';
import { tempBeside } from '../../inputs/cache.js';
import { KilnError } from '../../util/errors.js';

export interface SigningOptions {
  /** Absolute paths of a key and certificate that replace the config's `signing` (kiln build --sign-key/--sign-cert). */
  override?: { key: string; cert: string };
  /** The passphrase of an encrypted key (KILN_SIGN_PASSPHRASE). */
  passphrase?: string;
}

/** The checked signer of this build, or undefined when nothing asks for a signature. */
export async function signerOf(resolved: ResolvedConfig, o: SigningOptions = {}): Promise<Signer | undefined> {
  const fromConfig = resolved.config.signing;
  const files =
    o.override ??
    (fromConfig === undefined ? undefined : { key: path.resolve(resolved.dir, fromConfig.key), cert: path.resolve(resolved.dir, fromConfig.cert) });
  if (files === undefined) return undefined;
  const signer: Signer = { ...files, ...(o.passphrase === undefined ? {} : { passphrase: o.passphrase }) };
  await checkSigner(signer);
  return signer;
}

/** `efi` signed by `signer` at `epochSeconds`, through a temporary file beside `target` (the EFI's final path). */
export async function signedUkiBytes(efi: Uint8Array, signer: Signer, epochSeconds: number, target: string): Promise<Uint8Array> {
  const scratch = tempBeside(target);
  try {
    await writeFile(scratch, efi);
    await signUki(scratch, signer, epochSeconds);
    return new Uint8Array(await readFile(scratch));
  } catch (error) {
    if (error instanceof KilnError) throw error;
    throw new KilnError('SIGN_FAILED', `${path.basename(target)}: cannot sign (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  } finally {
    await rm(scratch, { force: true });
  }
}
