/**
 * End to end, UEFI Secure Boot: examples/minimal.yml (fast profile) built three ways — signed with Debian's snakeoil
 * key (the certificate OVMF_VARS_4M.snakeoil.fd enrols as PK, KEK and db), unsigned, and signed with a key set of
 * `kiln keys --secure-boot` through the config's `signing` section — and booted by `kiln run --secure-boot`, which
 * enforces it. The snakeoil build reaches ready: the kernel says Secure Boot is on and locks itself down, and Debian's
 * signed modules (virtio) still load under lockdown. The firmware refuses the other two before a byte of them runs.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { kiln, kilnRun } from '../helpers/cli.js';

const root = path.resolve(import.meta.dirname, '../..');
// Debian's ovmf: the test key of the snakeoil store, encrypted with the passphrase "snakeoil".
const SNAKEOIL = { key: '/usr/share/ovmf/PkKek-1-snakeoil.key', cert: '/usr/share/ovmf/PkKek-1-snakeoil.pem', passphrase: 'snakeoil' };
// OVMF's boot manager when the image verification refuses the EFI (EFI_ACCESS_DENIED from LoadImage), e.g.
// 'BdsDxe: failed to load Boot0001 "UEFI Misc Device" from PciRoot(0x0)/Pci(0x1,0x0): Access Denied'.
const REFUSED = 'BdsDxe: failed to load Boot[0-9A-F]{4} "[^"]*" from \\S+: Access Denied';
let work: string;
const efi: Record<'snakeoil' | 'unsigned' | 'other', string> = { snakeoil: '', unsigned: '', other: '' };

async function build(args: string[]): Promise<string> {
  const r = await kiln(['build', ...args, '--profile', 'fast', '--json', '-q']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout).efi;
}

beforeAll(async () => {
  for (const file of ['/usr/share/OVMF/OVMF_CODE_4M.secboot.fd', '/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd', SNAKEOIL.key]) {
    if (!existsSync(file)) throw new Error(`${file} is needed (Debian: ovmf)`);
  }
  work = await mkdtemp(path.join(os.tmpdir(), 'kiln-secure-boot-'));
  // kiln wants an unencrypted key of mode 0600 (or KILN_SIGN_PASSPHRASE): openssl writes one.
  const snakeoilKey = path.join(work, 'snakeoil.key');
  execFileSync('openssl', ['pkey', '-in', SNAKEOIL.key, '-passin', `pass:${SNAKEOIL.passphrase}`, '-out', snakeoilKey]);
  await chmod(snakeoilKey, 0o600);
  efi.snakeoil = await build(['examples/minimal.yml', '--out', path.join(work, 'snakeoil'), '--sign-key', snakeoilKey, '--sign-cert', SNAKEOIL.cert]);
  efi.unsigned = await build(['examples/minimal.yml', '--out', path.join(work, 'unsigned')]);
  // Another key, named in the config (paths relative to it), as a fleet would.
  const keys = await kiln(['keys', '--secure-boot', '--out', path.join(work, 'keys'), '--name', 'e2e']);
  expect(keys.code).toBe(0);
  const other = path.join(work, 'other');
  await mkdir(other);
  await writeFile(
    path.join(other, 'kiln.yml'),
    'name: minimal\nkernel:\n  modules: [virtio_pci, virtio_blk, virtio_net]\nsigning: { key: ../keys/db.key, cert: ../keys/db.pem }\n',
  );
  await copyFile(path.join(root, 'examples/kiln.lock'), path.join(other, 'kiln.lock'));
  efi.other = await build([path.join(other, 'kiln.yml'), '--out', path.join(other, 'out')]);
});
afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe('kiln run --secure-boot (OVMF with the snakeoil keys enrolled)', () => {
  test('the UKI signed with the snakeoil key boots to ready, with Secure Boot on, locked down, its modules loaded', async () => {
    const r = await kilnRun([efi.snakeoil, '--secure-boot=snakeoil', '--expect', 'kiln: ready in', '--timeout', '300']);
    expect(r.out).toMatch(/EFI stub: UEFI Secure Boot is enabled\./);
    expect(r.out).toMatch(/secureboot: Secure boot enabled/);
    // Debian's wording (its patch that locks the kernel down when the firmware says Secure Boot is on).
    expect(r.out).toMatch(/Kernel is locked down from EFI Secure Boot; see man kernel_lockdown\.7/);
    // Lockdown enforces module signatures: Debian's modules keep theirs in the image, so the virtio drivers load.
    expect(r.out).toMatch(/kiln: modules: \d+ loaded/);
    expect(r.out).not.toMatch(/module verification failed|Loading of unsigned module is rejected/);
    expect(r.code).toBe(0);
  }, 330_000);

  test('an unsigned UKI is refused by the firmware: the kernel never starts', async () => {
    const r = await kilnRun([efi.unsigned, '--secure-boot', '--expect', REFUSED, '--timeout', '90']);
    expect(r.out).not.toMatch(/Linux version/);
    expect(r.code).toBe(0);
  }, 120_000);

  test('a UKI signed with a key the firmware does not trust is refused the same way', async () => {
    const r = await kilnRun([efi.other, '--secure-boot=snakeoil', '--expect', REFUSED, '--timeout', '90']);
    expect(r.out).not.toMatch(/Linux version/);
    expect(r.code).toBe(0);
  }, 120_000);
});
