// Every way a signer can be wrong gives its one line, naming the file and what to do (signing-key.ts), before
// osslsigncode runs. The key and certificates are made by openssl here, not by kiln.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { makeTestSigner } from './_test-signer.js';
import { checkSigner, type Signer } from './signing-key.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-signer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const good = makeTestSigner(dir, 'db');
const other = makeTestSigner(dir, 'other');

async function refusal(signer: Signer, now?: Date): Promise<string> {
  const error = await checkSigner(signer, now).then(
    () => undefined,
    (e: Error) => e,
  );
  expect(error).toMatchObject({ name: 'KilnError' });
  return error!.message;
}

describe('checkSigner', () => {
  test('a key with its own certificate passes', async () => {
    await expect(checkSigner(good)).resolves.toBeUndefined();
  });

  test('a missing key or certificate', async () => {
    expect(await refusal({ ...good, key: join(dir, 'none.key') })).toBe(
      `signing key ${dir}/none.key: cannot read it (ENOENT); name the private key (kiln keys --secure-boot writes db.key and db.pem)`,
    );
    expect(await refusal({ ...good, cert: join(dir, 'none.pem') })).toBe(
      `signing certificate ${dir}/none.pem: cannot read it (ENOENT); name the certificate (kiln keys --secure-boot writes db.key and db.pem)`,
    );
  });

  test('a key others may read', async () => {
    const key = join(dir, 'open.key');
    execFileSync('cp', [good.key, key]);
    chmodSync(key, 0o640);
    expect(await refusal({ ...good, key })).toBe(`signing key ${key}: mode 0640 lets other users read it; run chmod 600 ${key}`);
  });

  test('an encrypted key: without its passphrase, and with a wrong one; with the right one it passes', async () => {
    const key = join(dir, 'encrypted.key');
    execFileSync('openssl', ['pkey', '-in', good.key, '-aes256', '-passout', 'pass:right', '-out', key]);
    chmodSync(key, 0o600);
    expect(await refusal({ ...good, key })).toBe(
      `signing key ${key} is encrypted: kiln needs an unencrypted key (openssl pkey -in ${key} -out NEW.key) or the passphrase in KILN_SIGN_PASSPHRASE`,
    );
    expect(await refusal({ ...good, key, passphrase: 'wrong' })).toBe(
      `signing key ${key}: openssl cannot open it with the passphrase in KILN_SIGN_PASSPHRASE; give the right one`,
    );
    await expect(checkSigner({ ...good, key, passphrase: 'right' })).resolves.toBeUndefined();
  });

  test('a file that is no key, a file that is no certificate', async () => {
    const key = join(dir, 'text.key');
    writeFileSync(key, 'not a key\n', { mode: 0o600 });
    expect(await refusal({ ...good, key })).toBe(
      `signing key ${key}: not a PEM private key openssl can open; name the private key (kiln keys --secure-boot writes db.key and db.pem)`,
    );
    // The certificate named where the key should be, and the key where the certificate should be.
    expect(await refusal({ key: good.key, cert: good.key })).toBe(
      `signing certificate ${good.key}: not a PEM X.509 certificate openssl can read; name the certificate (kiln keys --secure-boot writes db.key and db.pem)`,
    );
  });

  test("another key's certificate", async () => {
    expect(await refusal({ key: good.key, cert: other.cert })).toBe(
      `signing certificate ${other.cert} is not the certificate of the key ${good.key} (their public keys differ); name the pair made together`,
    );
  });

  test('a certificate not yet valid, and one expired', async () => {
    const notBefore = execFileSync('openssl', ['x509', '-in', good.cert, '-noout', '-startdate', '-dateopt', 'iso_8601'], { encoding: 'utf8' });
    const from = new Date(
      notBefore
        .replace(/^notBefore=/, '')
        .trim()
        .replace(' ', 'T'),
    );
    const until = new Date(from.getTime() + 30 * 86_400_000);
    const iso = (d: Date) => d.toISOString().replace(/\.000Z$/, 'Z');
    expect(await refusal(good, new Date(from.getTime() - 1000))).toBe(
      `signing certificate ${good.cert} is not valid before ${iso(from)}; check this host's clock or the certificate`,
    );
    expect(await refusal(good, new Date(until.getTime() + 1000))).toBe(
      `signing certificate ${good.cert} expired on ${iso(until)}; make a new set with kiln keys --secure-boot and enrol it`,
    );
  });
});
