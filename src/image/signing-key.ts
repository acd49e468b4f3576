/**
 * The Secure Boot signer — a private key and its X.509 certificate — checked before anything is signed, each problem
 * one line naming the file and what to do. A build checks it first, so a wrong key costs seconds, not a build.
 * The checks run the host's openssl rather than Node's crypto: osslsigncode links the host's libcrypto, so what
 * openssl can open is what the signer can use (Node bundles an OpenSSL of its own, whose formats may differ).
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { KilnError } from '../util/errors.js';
import { exec } from '../util/exec.js';

/** Where the CLI reads the passphrase of an encrypted signing key from. */
export const SIGN_PASSPHRASE_ENV = 'KILN_SIGN_PASSPHRASE';

export interface Signer {
  /** The private key, PEM, readable by its owner only (0600). */
  key: string;
  /** Its certificate, PEM: the one enrolled in the firmware's db. */
  cert: string;
  /** The key's passphrase when it is encrypted; never on a command line (openssl and osslsigncode read it on stdin). */
  passphrase?: string;
}

const SET_HINT = 'kiln keys --secure-boot writes db.key and db.pem';

/** Throws a one-line KilnError for the first thing that would make signing fail or sign with the wrong key. */
export async function checkSigner(signer: Signer, now: Date = new Date()): Promise<void> {
  const key = shown(signer.key);
  const cert = shown(signer.cert);
  const keyText = await readable(signer.key, `signing key ${key}`, `name the private key (${SET_HINT})`);
  await readable(signer.cert, `signing certificate ${cert}`, `name the certificate (${SET_HINT})`);
  const mode = (await stat(signer.key)).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new KilnError('SIGN_KEY_MODE', `signing key ${key}: mode ${octal(mode)} lets other users read it; run chmod 600 ${key}`);
  }
  // pass: (empty) never prompts; a passphrase goes on stdin, one line, never on the command line.
  const passin = signer.passphrase === undefined ? ['-passin', 'pass:'] : ['-passin', 'stdin'];
  const publicOfKey = await openssl(['pkey', '-in', signer.key, '-pubout', ...passin], signer.passphrase === undefined ? '' : `${signer.passphrase}\n`);
  if (publicOfKey === undefined) throw unopenableKey(key, keyText, signer.passphrase !== undefined);
  const certInfo = await openssl(['x509', '-in', signer.cert, '-noout', '-pubkey', '-startdate', '-enddate', '-dateopt', 'iso_8601']);
  const publicOfCert = certInfo?.match(/-----BEGIN PUBLIC KEY-----[^-]+-----END PUBLIC KEY-----/)?.[0];
  const notBefore = certInfo?.match(/^notBefore=(.+)$/m)?.[1];
  const notAfter = certInfo?.match(/^notAfter=(.+)$/m)?.[1];
  if (publicOfCert === undefined || notBefore === undefined || notAfter === undefined) {
    throw new KilnError('SIGN_CERT_INVALID', `signing certificate ${cert}: not a PEM X.509 certificate openssl can read; name the certificate (${SET_HINT})`);
  }
  if (publicOfCert.trim() !== publicOfKey.trim()) {
    throw new KilnError(
      'SIGN_CERT_MISMATCH',
      `signing certificate ${cert} is not the certificate of the key ${key} (their public keys differ); name the pair made together`,
    );
  }
  // openssl prints ISO 8601 as "2036-12-01 20:40:20Z"; Date wants the T.
  const from = new Date(notBefore.replace(' ', 'T'));
  const until = new Date(notAfter.replace(' ', 'T'));
  if (now < from) {
    throw new KilnError('SIGN_CERT_NOT_YET_VALID', `signing certificate ${cert} is not valid before ${iso(from)}; check this host's clock or the certificate`);
  }
  if (now > until) {
    throw new KilnError('SIGN_CERT_EXPIRED', `signing certificate ${cert} expired on ${iso(until)}; make a new set with kiln keys --secure-boot and enrol it`);
  }
}

async function readable(file: string, what: string, todo: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new KilnError('SIGN_FILE_UNREADABLE', `${what}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)}); ${todo}`);
  }
}

function unopenableKey(key: string, text: string, withPassphrase: boolean): KilnError {
  // PKCS#8 ("BEGIN ENCRYPTED PRIVATE KEY") and traditional ("Proc-Type: 4,ENCRYPTED") encrypted PEM.
  if (/ENCRYPTED/.test(text)) {
    return withPassphrase
      ? new KilnError('SIGN_KEY_PASSPHRASE', `signing key ${key}: openssl cannot open it with the passphrase in ${SIGN_PASSPHRASE_ENV}; give the right one`)
      : new KilnError(
          'SIGN_KEY_ENCRYPTED',
          `signing key ${key} is encrypted: kiln needs an unencrypted key (openssl pkey -in ${key} -out NEW.key) or the passphrase in ${SIGN_PASSPHRASE_ENV}`,
        );
  }
  return new KilnError('SIGN_KEY_INVALID', `signing key ${key}: not a PEM private key openssl can open; name the private key (${SET_HINT})`);
}

/** openssl's stdout, or undefined when it fails. */
async function openssl(args: string[], input = ''): Promise<string | undefined> {
  const r = await exec('openssl', args, { input });
  return r.code === 0 ? r.stdout : undefined;
}

/** As the user would type it: relative to the working folder when inside it, else absolute. */
export function shown(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative === '' || relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}

function iso(date: Date): string {
  return date.toISOString().replace(/\.000Z$/, 'Z');
}
