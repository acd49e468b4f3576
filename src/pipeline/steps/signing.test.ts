/**
 * Who signs a build: the config's `signing` paths resolve against the config's folder (like update.publicKey), the
 * command's pair replaces them, and the pair is checked before the build's long steps; a failed signature leaves
 * nothing at the EFI's path. The CLI's --sign-key/--sign-cert come as a pair or not at all.
 */
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { signingOf } from '../../cli/commands/build.js';
import { validateYaml } from '../../config/load.js';
import { resolveLoaded } from '../../config/resolve.js';
import { makeTestSigner, smallUki } from '../../image/_test-signer.js';
import { signedUkiBytes, signerOf } from './signing.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-signing-step-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, 'dev/keys'), { recursive: true });
const inConfigDir = makeTestSigner(join(dir, 'dev/keys'), 'db');
const other = makeTestSigner(dir, 'other');

function resolved(yaml: string) {
  const file = join(dir, 'dev/kiln.yml');
  return resolveLoaded({ file, dir: join(dir, 'dev'), config: validateYaml('kiln.yml', yaml) }, dir);
}

describe('signerOf', () => {
  test('nothing asks for a signature: none', async () => {
    expect(await signerOf(resolved('name: x\n'))).toBeUndefined();
  });

  test("the config's paths are relative to the config file", async () => {
    expect(await signerOf(resolved('name: x\nsigning: { key: keys/db.key, cert: keys/db.pem }\n'))).toEqual(inConfigDir);
  });

  test("the command's pair replaces the config's, with the passphrase", async () => {
    const r = resolved('name: x\nsigning: { key: keys/nothing.key, cert: keys/nothing.pem }\n');
    expect(await signerOf(r, { override: other })).toEqual(other);
    const key = join(dir, 'other-copy.key');
    copyFileSync(other.key, key);
    chmodSync(key, 0o600);
    expect(await signerOf(r, { override: { ...other, key }, passphrase: 'unused' })).toEqual({ ...other, key, passphrase: 'unused' });
  });

  test('a bad pair fails here, before the build, in one line', async () => {
    await expect(signerOf(resolved('name: x\nsigning: { key: keys/db.key, cert: keys/missing.pem }\n'))).rejects.toThrow(
      `signing certificate ${join(dir, 'dev/keys/missing.pem')}: cannot read it (ENOENT); name the certificate (kiln keys --secure-boot writes db.key and db.pem)`,
    );
  });

  test('an unknown key under signing is a config error', () => {
    expect(() => validateYaml('kiln.yml', 'name: x\nsigning: { key: a, cert: b, certificate: c }\n')).toThrow(/signing\.certificate: unknown key/);
  });
});

describe('signedUkiBytes', () => {
  test('a failed signature leaves nothing at the target nor beside it', async () => {
    const out = mkdtempSync(join(dir, 'out-'));
    const target = join(out, 'BOOTX64.EFI');
    await expect(signedUkiBytes(smallUki(), { key: inConfigDir.key, cert: other.cert }, 0, target)).rejects.toMatchObject({ code: 'SIGN_CERT_MISMATCH' });
    expect(readdirSync(out)).toEqual([]);
  });

  test('the signed bytes come back, and the scratch file is gone', async () => {
    const out = mkdtempSync(join(dir, 'out-'));
    const unsigned = smallUki();
    const signed = await signedUkiBytes(unsigned, inConfigDir, 0, join(out, 'BOOTX64.EFI'));
    expect(signed.length).toBeGreaterThan(unsigned.length);
    expect(readdirSync(out)).toEqual([]);
  });
});

describe('kiln build --sign-key/--sign-cert', () => {
  const io = { env: {}, cwd: '/work' } as never;
  test('both: one override, relative to the working folder', () => {
    expect(signingOf({ signKey: 'k/db.key', signCert: 'k/db.pem' }, io)).toEqual({ override: { key: '/work/k/db.key', cert: '/work/k/db.pem' } });
  });
  test('one without the other is an error', () => {
    expect(() => signingOf({ signKey: 'db.key' }, io)).toThrow('--sign-key without --sign-cert: give the key and its certificate together');
    expect(() => signingOf({ signCert: 'db.pem' }, io)).toThrow('--sign-cert without --sign-key: give the key and its certificate together');
  });
  test('the passphrase comes from KILN_SIGN_PASSPHRASE', () => {
    expect(signingOf({}, { env: { KILN_SIGN_PASSPHRASE: 's3cret' }, cwd: '/' } as never)).toEqual({ passphrase: 's3cret' });
    expect(signingOf({}, io)).toEqual({});
  });
});
