/**
 * A Secure Boot key set of one's own (`kiln keys --secure-boot`): PK (the platform owner, who may replace KEK), KEK
 * (may change db) and db (signs the UKIs). Each is an RSA-2048 key — the one key type every UEFI firmware must
 * verify — in PEM (0600), with a self-signed X.509 certificate in PEM and DER (what firmware setup menus import),
 * valid for 10 years. openssl makes keys and certificates. efitools turns each certificate into the EFI signature
 * list (`cert-to-efi-sig-list`) and the time-based authenticated variable that enrols it (`sign-efi-sig-list`):
 * PK.auth signed by PK itself, KEK.auth by PK, db.auth by KEK, the chain a firmware checks once PK is set. Those are
 * the files KeyTool, efi-updatevar and firmware menus read, so kiln carries no second writer of the formats.
 *
 * The set is made in a private folder inside the target and linked into place name by name — link(2) fails on a name
 * that exists — so a key set is never overwritten, and a failed run leaves none of its files.
 */
import { randomUUID } from 'node:crypto';
import { chmod, link, lstat, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { KilnError } from '../util/errors.js';
import { execOk } from '../util/exec.js';

export const SECURE_BOOT_ROLES = ['PK', 'KEK', 'db'] as const;
export type SecureBootRole = (typeof SECURE_BOOT_ROLES)[number];

/** Who signs each role's authenticated variable: PK itself, then down the chain. */
const SIGNED_BY: Record<SecureBootRole, SecureBootRole> = { PK: 'PK', KEK: 'PK', db: 'KEK' };
const VALID_DAYS = 3650;
/** Goes into the certificates' subject as "/CN=kiln PK <name>": nothing that would end or split the field. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,47}$/;

export interface SecureBootRoleFiles {
  key: string;
  cert: string;
  der: string;
  esl: string;
  auth: string;
}

export interface SecureBootKeySet extends Record<SecureBootRole, SecureBootRoleFiles> {
  dir: string;
  /** The signature owner GUID of every ESL, also in `<dir>/owner.guid`. */
  ownerGuid: string;
  ownerGuidFile: string;
}

export function secureBootFilesIn(dir: string): SecureBootKeySet {
  const role = (r: SecureBootRole): SecureBootRoleFiles => ({
    key: path.join(dir, `${r}.key`),
    cert: path.join(dir, `${r}.pem`),
    der: path.join(dir, `${r}.der`),
    esl: path.join(dir, `${r}.esl`),
    auth: path.join(dir, `${r}.auth`),
  });
  return { dir, ownerGuid: '', ownerGuidFile: path.join(dir, 'owner.guid'), PK: role('PK'), KEK: role('KEK'), db: role('db') };
}

function allFiles(set: SecureBootKeySet): string[] {
  return [...SECURE_BOOT_ROLES.flatMap((r) => Object.values(set[r])), set.ownerGuidFile];
}

/** Makes the key set in `dir` (created if need be); `name` goes into the certificates' subjects. */
export async function generateSecureBootKeys(dir: string, name: string): Promise<SecureBootKeySet> {
  if (!NAME.test(name)) {
    throw new KilnError('KEYS_BAD_NAME', `--name "${name}": expected letters, digits, spaces, ".", "_" or "-" (at most 48), starting with a letter or digit`);
  }
  const target = secureBootFilesIn(dir);
  for (const file of allFiles(target)) if (await exists(file)) throw alreadyThere(file);
  const staging = await mkdir(dir, { recursive: true })
    .then(() => mkdtemp(path.join(dir, '.kiln-secure-boot-')))
    .catch((error: unknown) => {
      throw unwritable(dir, error);
    });
  const linked: string[] = [];
  try {
    const made = { ...secureBootFilesIn(staging), ownerGuid: randomUUID() };
    await makeSet(made, name);
    for (const file of allFiles(made)) {
      const into = path.join(dir, path.basename(file));
      try {
        await link(file, into);
      } catch (error) {
        throw (error as NodeJS.ErrnoException).code === 'EEXIST' ? alreadyThere(into) : unwritable(into, error);
      }
      linked.push(into);
    }
    return { ...target, ownerGuid: made.ownerGuid };
  } catch (error) {
    // Never half a set: a db.key without the KEK that may enrol it would look usable.
    for (const file of linked) await rm(file, { force: true });
    throw error;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function makeSet(set: SecureBootKeySet, name: string): Promise<void> {
  await writeFile(set.ownerGuidFile, `${set.ownerGuid}\n`, { mode: 0o644 });
  for (const role of SECURE_BOOT_ROLES) {
    const f = set[role];
    await execOk(
      'openssl',
      // -nodes: unencrypted, so a build signs unattended; the file mode protects it.
      [
        'req',
        '-new',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-sha256',
        '-days',
        String(VALID_DAYS),
        '-subj',
        `/CN=kiln ${role} ${name}`,
        '-keyout',
        f.key,
        '-out',
        f.cert,
      ],
      `making the ${role} key`,
    );
    await execOk('openssl', ['x509', '-in', f.cert, '-outform', 'DER', '-out', f.der], `writing ${role}.der`);
    await execOk('cert-to-efi-sig-list', ['-g', set.ownerGuid, f.cert, f.esl], `writing ${role}.esl`);
  }
  for (const role of SECURE_BOOT_ROLES) {
    const f = set[role];
    const by = set[SIGNED_BY[role]];
    await execOk('sign-efi-sig-list', ['-g', set.ownerGuid, '-k', by.key, '-c', by.cert, role, f.esl, f.auth], `writing ${role}.auth`);
  }
  for (const role of SECURE_BOOT_ROLES) {
    const f = set[role];
    await chmod(f.key, 0o600);
    // sign-efi-sig-list writes 0600; an .auth holds only public data, signed.
    for (const file of [f.cert, f.der, f.esl, f.auth]) await chmod(file, 0o644);
  }
}

async function exists(file: string): Promise<boolean> {
  return lstat(file).then(
    () => true,
    () => false,
  );
}

function alreadyThere(file: string): KilnError {
  return new KilnError('KEYS_EXIST', `${file} already exists; kiln keys never overwrites a Secure Boot key set`, {
    hint: 'Firmware that enrolled it trusts that set. Choose another folder with --out, or remove the old set yourself if nothing uses it.',
  });
}

function unwritable(file: string, error: unknown): KilnError {
  return new KilnError('KEYS_UNWRITABLE', `${file}: cannot write (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
}
