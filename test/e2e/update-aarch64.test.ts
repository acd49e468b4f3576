/**
 * End to end on aarch64: one update round trip under qemu-system-aarch64 -M virt + AAVMF (TCG), through the same
 * `kiln disk` / `kiln run --keep-disk --reboot --no-bootindex` / `kiln update` a user runs: v1 boots, v2 is sent, tried
 * once from slot B (KILNAA64.EFI), passes its health gate and is committed. Bigger slots: a fast aarch64 UKI is
 * ~74 MB (Debian's uncompressed arm64 Image).
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
  const text = updatableConfig({ name: 'update-arm', version, token: TOKEN, update: '  slotSize: 128M\n' })
    .replace('version:', 'arch: aarch64\nversion:')
    .replace('size: 64M, esp: true', 'size: 128M, esp: true');
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
    const r = await machine.update(await writeConfig('1.1.0'), path.join(work, 'keys/update.key'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/1\.1\.0 \(build \w+\) committed in slot B/);
    expect(machine.out).toMatch(/kiln: update: booted slot B \(Boot\d{4}\), committed A, trial boot/);
    const s = await machine.status();
    expect(s).toMatchObject({ running: { version: '1.1.0', slot: 'B' }, last: { outcome: 'committed' } });
    await machine.stop();
  }, 1_500_000);
});
