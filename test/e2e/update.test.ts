/**
 * End to end: firmware updates on one kept disk, in QEMU under OVMF through `kiln run --keep-disk --reboot
 * --no-bootindex` (guest reboots restart the machine and the firmware's own BootOrder decides, as on hardware), with
 * `kiln update --device` as a user runs it:
 *   1. v1 from `kiln disk` boots (first boot: the ESP fallback; kiln writes its Boot#### entries and BootOrder)
 *   2. refused before anything is written: unsigned, another key, a flipped byte, another architecture, older
 *   3. v2 (a changed config) → the trial boot from slot B, the health gate, committed; a cold boot (QEMU restarted
 *      with the kept variables) is v2 from slot B again, with no BootNext left
 *   4. v3 whose init crashes at boot → the firmware falls back to v2; v3 is reported rolled back and not retried
 *   5. v4 whose init hangs after ready → the watchdog resets the machine → back on v2, reported
 * Builds share one cache (fast profile: only the kiln layer differs between versions). ~10 boots under TCG.
 */
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { FirmwareStatement } from '../../device/contract/update/statement.ts';
import { signStatement } from '../../src/update/keys.js';
import { statementOf } from '../../src/update/release.js';
import { kiln } from '../helpers/cli.js';
import { freePort, makeUpdatableDisk, updatableConfig, UpdateMachine } from '../helpers/update-machine.js';

const root = path.resolve(import.meta.dirname, '../..');
const TOKEN = 'update-e2e-token';
let work: string;
let key: string;
let machine: UpdateMachine;

async function writeConfig(name: string, version: string, kernel = ''): Promise<string> {
  const file = path.join(work, `${name}.yml`);
  await writeFile(file, updatableConfig({ name: 'update-e2e', version, token: TOKEN, kernel }));
  return file;
}

async function readyCount(count: number): Promise<string> {
  if (!(await machine.waitReady(count))) throw new Error(`no ready line #${count}; console tail:\n${machine.out.slice(-3000)}`);
  return machine.out;
}

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'kiln-update-e2e-'));
  key = path.join(work, 'keys/update.key');
  await copyFile(path.join(root, 'examples/kiln.lock'), path.join(work, 'kiln.lock'));
  await makeUpdatableDisk(work, await writeConfig('v1', '1.0.0'), path.join(work, 'v1.img'));
  machine = new UpdateMachine({ disk: path.join(work, 'v1.img'), state: path.join(work, 'state.img'), port: await freePort(), token: TOKEN });
});
afterAll(async () => {
  if (machine?.running) await machine.powerCut();
  await rm(work, { recursive: true, force: true });
});

describe('A/B firmware updates on a kept disk', () => {
  test('v1 boots from the ESP fallback the first time and writes its boot entries', async () => {
    machine.start();
    const out = await readyCount(1);
    expect(out).toMatch(/kiln: update: wrote Boot\d{4}, Boot\d{4}, BootOrder\n/);
    expect(out).toMatch(/kiln: update: booted the ESP fallback \(Boot\d{4}\), committed A \(/);
    const s = await machine.status();
    expect(s).toMatchObject({ available: true, running: { version: '1.0.0', slot: 'fallback' }, failed: [] });
    expect(s.slots.map((x) => [x.name, x.committed, x.version])).toEqual([
      ['A', true, '1.0.0'],
      ['B', false, undefined],
    ]);
  }, 600_000);

  test('refused before anything is written: unsigned, another key, a flipped byte, another architecture, older', async () => {
    const v2 = await kiln(['build', await writeConfig('v2', '1.1.0'), '--out', path.join(work, 'out-v2'), '--profile', 'fast', '--json', '-q']);
    expect(v2.code, v2.stderr).toBe(0);
    const build = JSON.parse(v2.stdout) as { efi: string; name: string; arch: 'x86_64'; size: number; buildId: string };
    const efi = new Uint8Array(await readFile(build.efi));
    const signer = createPrivateKey(await readFile(key, 'utf8'));
    const good = await statementOf(build, '1.1.0', { file: build.efi, size: build.size });
    const post = (statement: FirmwareStatement, data: Uint8Array, by = signer) => {
      const signed = signStatement(statement, by);
      return machine.api<{ error?: string }>('POST', '/v1/update', {
        data,
        headers: { 'x-kiln-statement': Buffer.from(signed.bytes).toString('base64'), 'x-kiln-signature': Buffer.from(signed.signature).toString('base64') },
      });
    };
    const unsigned = await machine.api<{ error: string }>('POST', '/v1/update', { data: efi, headers: {} });
    expect(unsigned.status).toBe(400);
    expect(unsigned.json.error).toMatch(/needs X-Kiln-Statement and X-Kiln-Signature/);
    const otherKey = await post(good, efi, generateKeyPairSync('ed25519').privateKey);
    expect([otherKey.status, otherKey.json.error]).toEqual([403, expect.stringMatching(/not from this device's update key/)]);
    const flipped = efi.slice();
    flipped[efi.length >> 1]! ^= 0x01;
    const tampered = await post(good, flipped);
    expect([tampered.status, tampered.json.error]).toEqual([400, expect.stringMatching(/SHA-256 .* is not the signed/)]);
    const arm = await post({ ...good, arch: 'aarch64' }, efi);
    expect([arm.status, arm.json.error]).toEqual([400, expect.stringMatching(/is for aarch64; this device is x86_64/)]);
    const older = await post({ ...good, version: '0.9.0' }, efi);
    expect([older.status, older.json.error]).toEqual([409, expect.stringMatching(/0.9.0 is older than the running 1.0.0/)]);
    // An unsigned body sent as a statement that is not kiln's: the device says so.
    const foreign = await machine.api<{ error: string }>('POST', '/v1/update', {
      data: efi,
      headers: { 'x-kiln-statement': Buffer.from('{"schemaVersion":2}').toString('base64'), 'x-kiln-signature': Buffer.alloc(64).toString('base64') },
    });
    expect(foreign.json.error).toMatch(/not a kiln firmware/);
    const s = await machine.status();
    expect(s.pending).toBeUndefined();
    expect(s.slots.find((x) => x.name === 'B')?.version).toBeUndefined();
    expect(s.last).toMatchObject({ outcome: 'refused' }); // the flipped byte got as far as the slot, and was removed
    expect(machine.out).not.toMatch(/BootNext = /);
  }, 600_000);

  test('v2 is tried once from slot B, passes its health gate and is committed; a cold boot is v2 with no BootNext', async () => {
    const r = await machine.update(await writeConfig('v2', '1.1.0'), key);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/: 1\.1\.0 \(build \w+\) committed in slot B \(\d+ s\)/);
    let out = await readyCount(2);
    expect(out).toMatch(/kiln: update: 1\.1\.0 \(build \w+\) installed in slot B; BootNext = Boot\d{4}/);
    expect(out).toMatch(/kiln: update: booted slot B \(Boot\d{4}\), committed A, trial boot/);
    expect(out).toMatch(/kiln: update: 1\.1\.0 \(build \w+\) committed: slot B is first in BootOrder/);
    out = await machine.stop();
    expect(out).toMatch(/reboot: Power down/);

    machine.start(); // QEMU again, on the kept disk and variable store: what a power cycle does
    out = await readyCount(1);
    expect(out).toMatch(/kiln: update: booted slot B \(Boot\d{4}\), committed B \(/);
    expect(out).not.toMatch(/trial boot/);
    const s = await machine.status();
    expect(s).toMatchObject({ running: { version: '1.1.0', slot: 'B' }, last: { outcome: 'committed', version: '1.1.0' } });
    expect(s.pending).toBeUndefined();
  }, 900_000);

  test('v3 whose init crashes at boot: the firmware falls back to v2, the device says why, v3 is not retried', async () => {
    // The crash switch goes on the kernel command line of v3 only.
    const v3 = await writeConfig('v3', '1.2.0', '  cmdline: kiln.crash=config\n');
    const r = await machine.update(v3, key);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /kiln: error: 127\.0\.0\.1:\d+: 1\.2\.0 \(build \w+\) was rolled back: .*did not start build \w+ from slot A as far as its update stage/,
    );
    const out = await readyCount(2);
    expect(out).toMatch(/kiln\.crash=config on the kernel command line/);
    const s = await machine.status();
    expect(s).toMatchObject({ running: { version: '1.1.0', slot: 'B' }, last: { outcome: 'rolled-back', version: '1.2.0' } });
    expect(s.failed).toHaveLength(1);
    const again = await machine.update(v3, key, ['--no-wait']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/failed its trial before; not trying it again unless asked/);
  }, 900_000);

  test('v4 whose init hangs after ready: the watchdog resets the machine, the firmware falls back to v2', async () => {
    const v4 = await writeConfig('v4', '1.3.0', '  cmdline: kiln.hang=ready\n');
    const r = await machine.update(v4, key);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/1\.3\.0 \(build \w+\) was rolled back: .*crashed, hung \(watchdog\) or rebooted during its trial boot/);
    const out = await readyCount(4);
    expect(out).toMatch(/kiln\.hang=ready: blocking the init's event loop/);
    expect((await machine.status()).running).toMatchObject({ version: '1.1.0', slot: 'B' });
    await machine.stop();
  }, 900_000);
});
