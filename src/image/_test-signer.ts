/**
 * Test support: a signing key and certificate made by openssl directly (not by kiln's key set code), and a small
 * real UKI — the fixture systemd-stub with a stand-in kernel — for the signer to sign and sbverify to judge.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildTinyPe } from '../formats/pe/_testing.js';
import { buildUki } from './uki.js';

export interface TestSigner {
  key: string;
  cert: string;
}

/** `<dir>/<name>.key` (RSA-2048, 0600) and `<dir>/<name>.pem` (self-signed, valid `days` from now). */
export function makeTestSigner(dir: string, name: string, days = 30): TestSigner {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  execFileSync(
    'openssl',
    ['req', '-new', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', String(days), '-subj', `/CN=${name}`, '-keyout', key, '-out', cert],
    {
      stdio: 'ignore',
    },
  );
  chmodSync(key, 0o600);
  return { key, cert };
}

/** A UKI from the fixture stub: what kiln build makes, with a 20 KiB kernel instead of Debian's. */
export function smallUki(): Uint8Array {
  const stub = new Uint8Array(readFileSync(new URL('./fixtures/linuxx64.efi.stub', import.meta.url)));
  return buildUki({
    stub,
    linux: buildTinyPe({ machine: 0x8664, sizeOfImage: 0x5000 }),
    initrd: Uint8Array.from({ length: 0x1801 }, (_, i) => i & 0xff),
    cmdline: 'console=ttyS0 panic=-1',
    osrel: 'ID=kiln\n',
    uname: '6.1.0-56-rt-amd64',
  });
}
