// `kiln keys --secure-boot`, judged by others: efitools' sig-list-to-certs must read each ESL back to the very
// certificate (DER) kiln wrote; openssl cms must verify each .auth's PKCS#7 over exactly what UEFI signs for a
// time-based authenticated variable (name, vendor GUID, attributes, time, ESL), signed by the role above it; the keys
// are 0600; the db key signs a UKI that sbverify accepts; a second run refuses to overwrite and changes nothing.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, test } from 'vitest';
import { run } from '../cli/main.js';
import { smallUki } from './_test-signer.js';
import { SECURE_BOOT_ROLES, type SecureBootKeySet, type SecureBootRole } from './secure-boot-keys.js';
import { signUki } from './sign.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-sb-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function kilnKeys(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d));
  stderr.on('data', (d: Buffer) => (err += d));
  const code = await run(['keys', ...args], { stdout, stderr, env: {}, cwd: dir });
  return { code, stdout: out, stderr: err };
}

// UEFI 2.10 §8.2.2: the variables' vendor GUIDs, the attributes of an authenticated write, the auth header's types.
const EFI_GLOBAL_VARIABLE = '8be4df61-93ca-11d2-aa0d-00e098032b8c';
const EFI_IMAGE_SECURITY_DATABASE = 'd719b2cb-3d3a-4596-a3bc-dad00e67656f';
const EFI_CERT_TYPE_PKCS7 = '4aafd29d-68df-49ee-8aa9-347d375665a7';
const NV_BS_RT_TIME_BASED = 0x01 | 0x02 | 0x04 | 0x20;
const WIN_CERT_TYPE_EFI_GUID = 0x0ef1;

/** An EFI_GUID as stored: the first three fields little-endian, the last eight bytes as written. */
function guidBytes(guid: string): Buffer {
  const hex = guid.replaceAll('-', '');
  const b = Buffer.from(hex, 'hex');
  return Buffer.concat([
    Buffer.from(b.subarray(0, 4)).reverse(),
    Buffer.from(b.subarray(4, 6)).reverse(),
    Buffer.from(b.subarray(6, 8)).reverse(),
    b.subarray(8),
  ]);
}

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** The auth's bare SignedData wrapped in the ContentInfo openssl reads: SEQUENCE { signedData OID, [0] content }. */
function contentInfo(signedData: Buffer): Buffer {
  const oid = Buffer.from('06092a864886f70d010702', 'hex'); // 1.2.840.113549.1.7.2
  const explicit = Buffer.concat([Buffer.from([0xa0]), derLength(signedData.length), signedData]);
  const body = Buffer.concat([oid, explicit]);
  return Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]);
}

/** Checks `role`.auth like a firmware would, with openssl; returns the signer's certificate (PEM). */
function verifyAuth(set: SecureBootKeySet, role: SecureBootRole): string {
  const auth = readFileSync(set[role].auth);
  const time = auth.subarray(0, 16); // EFI_TIME (16) @0
  const length = auth.readUInt32LE(16); // WIN_CERTIFICATE.dwLength (4) @16
  expect(auth.readUInt16LE(20)).toBe(0x0200); // wRevision (2) @20
  expect(auth.readUInt16LE(22)).toBe(WIN_CERT_TYPE_EFI_GUID); // wCertificateType (2) @22
  expect(auth.subarray(24, 40)).toEqual(guidBytes(EFI_CERT_TYPE_PKCS7)); // CertType (16) @24
  const esl = auth.subarray(16 + length);
  expect(esl).toEqual(readFileSync(set[role].esl)); // the variable's new value follows the header
  const vendor = role === 'db' ? EFI_IMAGE_SECURITY_DATABASE : EFI_GLOBAL_VARIABLE;
  const attributes = Buffer.alloc(4);
  attributes.writeUInt32LE(NV_BS_RT_TIME_BASED);
  const signedData = Buffer.concat([Buffer.from(role, 'utf16le'), guidBytes(vendor), attributes, time, esl]);
  const base = join(dir, `verify-${role}`);
  writeFileSync(`${base}.p7`, contentInfo(auth.subarray(40, 16 + length)));
  writeFileSync(`${base}.data`, signedData);
  // -noverify: no chain to check (the certificates are self-signed); the signature itself is checked.
  execFileSync(
    'openssl',
    [
      'cms',
      '-verify',
      '-inform',
      'DER',
      '-in',
      `${base}.p7`,
      '-binary',
      '-content',
      `${base}.data`,
      '-noverify',
      '-signer',
      `${base}.signer.pem`,
      '-out',
      '/dev/null',
    ],
    { stdio: 'pipe' },
  );
  return readFileSync(`${base}.signer.pem`, 'utf8');
}

const pemOf = (file: string) => execFileSync('openssl', ['x509', '-in', file], { encoding: 'utf8' });
const subjectOf = (file: string) => execFileSync('openssl', ['x509', '-in', file, '-noout', '-subject'], { encoding: 'utf8' }).trim();

describe('kiln keys --secure-boot', () => {
  let set: SecureBootKeySet;

  test('writes PK, KEK and db with their ESLs and auths, one owner GUID, keys 0600, and prints the paths as JSON', async () => {
    const r = await kilnKeys('--secure-boot', '--out', 'sb', '--name', 'test fleet', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    set = JSON.parse(r.stdout);
    const sb = join(dir, 'sb');
    expect(set.db).toEqual({ key: join(sb, 'db.key'), cert: join(sb, 'db.pem'), der: join(sb, 'db.der'), esl: join(sb, 'db.esl'), auth: join(sb, 'db.auth') });
    expect(readdirSync(sb).sort()).toEqual(
      [...SECURE_BOOT_ROLES.flatMap((role) => ['key', 'pem', 'der', 'esl', 'auth'].map((ext) => `${role}.${ext}`)), 'owner.guid'].sort(),
    );
    expect(readFileSync(set.ownerGuidFile, 'utf8')).toBe(`${set.ownerGuid}\n`);
    for (const role of SECURE_BOOT_ROLES) {
      expect(statSync(set[role].key).mode & 0o777).toBe(0o600);
      expect(statSync(set[role].auth).mode & 0o777).toBe(0o644);
      expect(subjectOf(set[role].cert)).toBe(`subject=CN = kiln ${role} test fleet`);
      const days = execFileSync('openssl', ['x509', '-in', set[role].cert, '-noout', '-checkend', String(3649 * 86400)]);
      expect(days.toString()).toMatch(/will not expire/);
    }
  });

  test("efitools reads each ESL back to the certificate, owned by the set's GUID", () => {
    for (const role of SECURE_BOOT_ROLES) {
      const prefix = join(dir, `back-${role}`);
      const said = execFileSync('sig-list-to-certs', [set[role].esl, prefix], { encoding: 'utf8' });
      expect(said).toContain(`Guid ${set.ownerGuid}`);
      expect(readFileSync(`${prefix}-0.der`)).toEqual(readFileSync(set[role].der));
    }
  });

  test('PK.auth is signed by PK, KEK.auth by PK, db.auth by KEK, over what the firmware checks', () => {
    expect(verifyAuth(set, 'PK')).toBe(pemOf(set.PK.cert));
    expect(verifyAuth(set, 'KEK')).toBe(pemOf(set.PK.cert));
    expect(verifyAuth(set, 'db')).toBe(pemOf(set.KEK.cert));
  });

  test('the db key signs a UKI that sbverify accepts with db.pem', async () => {
    const efi = join(dir, 'BOOTX64.EFI');
    writeFileSync(efi, smallUki());
    await signUki(efi, { key: set.db.key, cert: set.db.cert }, 0);
    expect(execFileSync('sbverify', ['--cert', set.db.cert, efi], { encoding: 'utf8' })).toContain('Signature verification OK');
  });

  test('a second run refuses to overwrite the set, in one line, and changes nothing', async () => {
    const before = readFileSync(set.db.key);
    const r = await kilnKeys('--secure-boot', '--out', 'sb');
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toBe(`kiln: error: ${set.PK.key} already exists; kiln keys never overwrites a Secure Boot key set`);
    expect(readFileSync(set.db.key)).toEqual(before);
    expect(readdirSync(join(dir, 'sb'))).toHaveLength(16); // no staging folder left behind
  });

  test('the update key pair stays the default, beside a Secure Boot set in the same folder', async () => {
    const r = await kilnKeys('--out', 'sb', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ privateKey: join(dir, 'sb', 'update.key'), publicKey: join(dir, 'sb', 'update.pub') });
    expect((await kilnKeys('--out', 'other', '--name', 'x')).stderr).toBe(
      'kiln: error: --name names a Secure Boot key set: add --secure-boot (the update key pair has no name)\n',
    );
  });
});
