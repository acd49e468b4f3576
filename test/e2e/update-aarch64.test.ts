/**
 * End to end on aarch64: one update round trip under qemu-system-aarch64 -M virt + AAVMF (TCG), through the same
 * `kiln disk` / `kiln run --keep-disk --reboot --no-bootindex` / `kiln update` a user runs: v1 boots, v2 is sent, tried
 * once from slot B (KILNAA64.EFI), passes its health gate and is committed. With `layout: source` — what an aarch64
 * device uses, its UKI (Debian's uncompressed arm64 Image) too big to carry Node in an initramfs under 45 MB — so a
 * slot holds the UKI and its tree, and the update is the slot's tar: the first stage of each UKI mounts the slot
 * whose build stamp is its own (KILN_A for v1, KILN_B for v2), never the other.
 */
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freePort, makeUpdatableDisk, updatableConfig, UpdateMachine } from '../helpers/update-machine.js';

const root = path.resolve(import.meta.dirname, '../..');
const TOKEN = 'aarch64-update-token';
let work: string;
let machine: UpdateMachine;

async function writeConfig(version: string): Promise<string> {
  const file = path.join(work, `v${version}.yml`);
  const text = updatableConfig({ name: 'update-arm', version, token: TOKEN }).replace('version:', 'arch: aarch64\nlayout: source\nversion:');
  await writeFile(file, text);
  return file;
}

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'kiln-update-arm-'));
  await copyFile(path.join(root, 'examples/kiln.lock'), path.join(work, 'kiln.lock'));
  await makeUpdatableDisk(work, await writeConfig('1.0.0'), path.join(work, 'v1.img'));
  machine = new UpdateMachine({ disk: path.join(work, 'v1.img'), state: path.join(work, 'state.img'), port: await freePort(), token: TOKEN });
});
afterAll(async () => {
  if (machine?.running) await machine.powerCut();
  await rm(work, { recursive: true, force: true });
});

describe('A/B firmware updates on aarch64 (AAVMF)', () => {
  test('v1 boots, v2 is tried once from slot B and committed', async () => {
    machine.start();
    expect(await machine.waitReady(1, 600), machine.out.slice(-3000)).toBe(true);
    expect(machine.out).toMatch(/kiln: update: booted the ESP fallback \(Boot\d{4}\), committed A/);
    expect(machine.out).toMatch(/mounted read-only at \/source \(labelled KILN_A\)/);
    const before = machine.out.length;
    const r = await machine.update(await writeConfig('1.1.0'), path.join(work, 'keys/update.key'));
    expect(r.code, `${r.stderr}\n${machine.out.slice(-3000)}`).toBe(0);
    expect(r.stdout).toMatch(/1\.1\.0 \(build \w+\) committed in slot B/);
    expect(machine.out).toMatch(/kiln: update: booted slot B \(Boot\d{4}\), committed A, trial boot/);
    expect(machine.out.slice(before)).toMatch(/mounted read-only at \/source \(labelled KILN_B\)/);
    const copied = /update: the ESP fallback EFI\/BOOT\/BOOTAA64\.EFI is now slot B's firmware/;
    expect(await machine.waitFor(() => copied.test(machine.out), 120), machine.out.slice(-2000)).toBe(true);
    const s = await machine.status();
    expect(s).toMatchObject({ running: { version: '1.1.0', slot: 'B' }, last: { outcome: 'committed' } });
    await machine.stop();
  }, 1_500_000);
});
