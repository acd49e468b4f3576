// kiln's Secure Boot signature judged by a second implementation: sbverify (sbsigntool) must accept it with the
// signer's certificate and refuse it with another; signing twice gives the same bytes. The UKI is a real one, made
// by kiln's UKI writer from the fixture systemd-stub.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { makeTestSigner, smallUki } from './_test-signer.js';
import { signUki } from './sign.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-sign-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const db = makeTestSigner(dir, 'db');
const other = makeTestSigner(dir, 'other');
const uki = smallUki();

/** sbverify's verdict: exit 0 and "Signature verification OK", or its complaint. */
function sbverify(cert: string, efi: string): { ok: boolean; text: string } {
  const r = spawnSync('sbverify', ['--cert', cert, efi], { encoding: 'utf8' });
  if (r.error) throw new Error(`sbverify not found: install the sbsigntool package (${r.error.message})`);
  return { ok: r.status === 0, text: `${r.stdout}${r.stderr}` };
}

function fresh(name: string): string {
  const file = join(dir, name);
  writeFileSync(file, uki);
  return file;
}

describe('signUki', () => {
  test('sbverify accepts the signature with its certificate, refuses it with another; twice signed, the same bytes', async () => {
    const first = fresh('first.efi');
    const second = fresh('second.efi');
    await signUki(first, db, 1_700_000_000);
    await signUki(second, db, 1_700_000_000);
    const signed = readFileSync(first);
    expect(Buffer.compare(signed, readFileSync(second))).toBe(0);
    expect(signed.length).toBeGreaterThan(uki.length);
    expect(sbverify(db.cert, first)).toMatchObject({ ok: true, text: expect.stringContaining('Signature verification OK') });
    expect(sbverify(other.cert, first)).toMatchObject({ ok: false, text: expect.stringContaining('Signature verification failed') });
    // The unsigned UKI is refused by the same judge: the test would notice a signer that did nothing.
    expect(sbverify(db.cert, fresh('unsigned.efi')).ok).toBe(false);
  });

  test('the signing time is the epoch given: another one, other bytes, still valid', async () => {
    const at0 = fresh('at0.efi');
    const later = fresh('later.efi');
    await signUki(at0, db, 0);
    await signUki(later, db, 1_700_000_000);
    expect(Buffer.compare(readFileSync(at0), readFileSync(later))).not.toBe(0);
    expect(sbverify(db.cert, at0).ok).toBe(true);
    const shown = execFileSync('osslsigncode', ['verify', '-in', later, '-CAfile', db.cert], { encoding: 'utf8' });
    expect(shown).toMatch(/Signing time: Nov 14 22:13:20 2023 GMT/);
  });

  test('signing again with another key replaces the signature', async () => {
    const efi = fresh('resigned.efi');
    await signUki(efi, db, 0);
    await signUki(efi, other, 0);
    expect(sbverify(other.cert, efi).ok).toBe(true);
    expect(sbverify(db.cert, efi).ok).toBe(false);
  });

  test('an encrypted key signs with its passphrase (on stdin) to the same bytes', async () => {
    const key = join(dir, 'db-encrypted.key');
    execFileSync('openssl', ['pkey', '-in', db.key, '-aes256', '-passout', 'pass:kiln test', '-out', key]);
    chmodSync(key, 0o600);
    const plain = fresh('plain.efi');
    const withPassphrase = fresh('with-passphrase.efi');
    await signUki(plain, db, 0);
    await signUki(withPassphrase, { ...db, key, passphrase: 'kiln test' }, 0);
    expect(Buffer.compare(readFileSync(plain), readFileSync(withPassphrase))).toBe(0);
    expect(sbverify(db.cert, withPassphrase).ok).toBe(true); // the same bytes, and signed ones
  });

  test('a failure leaves the file as it was and no temporary file beside it', async () => {
    const sub = mkdtempSync(join(dir, 'fail-'));
    const notPe = join(sub, 'BOOTX64.EFI');
    writeFileSync(notPe, 'not a PE image\n');
    // osslsigncode's own words: 2.9 (bookworm-backports) first, then 2.5 (bookworm).
    const failed = await signUki(notPe, db, 0).catch((e: Error) => e);
    expect(failed?.message).toMatch(
      new RegExp(`^${notPe}: osslsigncode could not sign it: (Initialization error or unsupported input file type\\.|Unrecognized file type: ${notPe})$`),
    );
    const efi = join(sub, 'kept.efi');
    writeFileSync(efi, uki);
    await expect(signUki(efi, { key: db.key, cert: other.cert }, 0)).rejects.toMatchObject({ code: 'SIGN_CERT_MISMATCH' });
    expect(Buffer.compare(readFileSync(efi), uki)).toBe(0);
    expect(readFileSync(notPe, 'utf8')).toBe('not a PE image\n');
    expect(readdirSync(sub).sort()).toEqual(['BOOTX64.EFI', 'kept.efi']);
  });
});
