/**
 * The fleet's update signing key pair (`kiln keys`): Ed25519, PEM. The private key (PKCS#8, mode 0600) stays on the
 * host that signs; the public key (SPKI) is what a config's `update.publicKey` names and the build bakes into the
 * firmware. Written with exclusive create, so an existing key is never overwritten — losing it would orphan every
 * device that trusts it.
 */
import { createHash, createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { encodeStatement, type FirmwareStatement } from '../../device/contract/update/statement.ts';
import { KilnError } from '../util/errors.js';

export interface KeyFiles {
  privateKey: string;
  publicKey: string;
}

/** `<dir>/update.key` and `<dir>/update.pub`. */
export function keyFilesIn(dir: string): KeyFiles {
  return { privateKey: path.join(dir, 'update.key'), publicKey: path.join(dir, 'update.pub') };
}

export async function generateKeys(dir: string): Promise<KeyFiles & { fingerprint: string }> {
  const files = keyFilesIn(dir);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  await mkdir(dir, { recursive: true });
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
  try {
    await writeFile(files.privateKey, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new KilnError('KEYS_EXIST', `${files.privateKey} already exists; kiln keys never overwrites a signing key`, {
        hint: 'Devices in the field trust that key. Choose another folder with --out, or remove the old pair yourself if no device uses it.',
      });
    }
    throw new KilnError('KEYS_UNWRITABLE', `${files.privateKey}: cannot write (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  try {
    await writeFile(files.publicKey, publicPem, { flag: 'wx', mode: 0o644 });
  } catch (error) {
    // Never leave half a pair: a private key without its public half would look usable.
    await rm(files.privateKey, { force: true });
    throw new KilnError('KEYS_UNWRITABLE', `${files.publicKey}: cannot write (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  return { ...files, fingerprint: keyFingerprint(publicPem) };
}

/** Short fingerprint for messages: the first 16 hex digits of the SHA-256 of the key's SPKI DER. */
export function keyFingerprint(publicPem: string): string {
  const der = Buffer.from(publicPem.replace(/-----[^-]+-----|\s+/g, ''), 'base64');
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}

/** The private key a `--key` option names; one clear line when it is missing or not an Ed25519 private key. */
export async function loadPrivateKey(file: string): Promise<KeyObject> {
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (error) {
    throw new KilnError('KEY_UNREADABLE', `--key ${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)})`, {
      hint: 'Make a pair with `kiln keys --out keys` and pass --key keys/update.key.',
    });
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new KilnError('KEY_INVALID', `--key ${file}: not a PEM private key`, { hint: 'Pass the update.key that `kiln keys` wrote (not update.pub).' });
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new KilnError('KEY_INVALID', `--key ${file}: a ${key.asymmetricKeyType} key; kiln signs updates with Ed25519 (kiln keys)`);
  return key;
}

export interface SignedStatement {
  statement: FirmwareStatement;
  /** The exact signed bytes (canonical JSON). */
  bytes: Uint8Array;
  signature: Uint8Array;
}

export function signStatement(statement: FirmwareStatement, key: KeyObject): SignedStatement {
  const bytes = encodeStatement(statement);
  return { statement, bytes, signature: new Uint8Array(sign(null, bytes, key)) };
}
