/**
 * End to end: build examples/minimal.yml (release profile, as a user would) and boot it in QEMU under OVMF
 * from a fresh ESP, through `kiln run`. Boots take ~30-60 s under TCG, so each boot checks several things.
 */
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { kiln, kilnRun } from '../helpers/cli.js';

const root = path.resolve(import.meta.dirname, '../..');
let work: string;
let efi: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'kiln-boot-'));
  const r = await kiln(['build', 'examples/minimal.yml', '--out', path.join(work, 'out'), '--json', '-q']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  efi = JSON.parse(r.stdout).efi;
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('examples/minimal.yml boots under OVMF', () => {
  test('the image is under 45 MB', async () => {
    const { size } = await import('node:fs').then((fs) => fs.statSync(efi));
    expect(size).toBeLessThan(45e6);
  });

  test('boots to one ready line, then powers off cleanly when kiln run is stopped', async () => {
    let stopped = false;
    const r = await kilnRun([efi, '--timeout', '300'], (text, child) => {
      // Stop once ready: kiln run presses the ACPI power button and waits for the guest to power off.
      if (!stopped && /kiln: ready in \d+ ms/.test(text)) {
        stopped = true;
        setTimeout(() => child.kill('SIGTERM'), 2000);
      }
    });
    expect(r.out.match(/kiln: ready in \d+ ms\r?\n/g)).toHaveLength(1);
    for (const stage of ['mounts: /proc /sys /dev /dev/pts /run /tmp /sys/fs/cgroup', 'modules: 11 loaded', 'hostname: kiln-minimal']) {
      expect(r.out).toContain(`kiln: ${stage}`);
    }
    expect(r.out).toMatch(/kiln: shutting down/);
    expect(r.out).toMatch(/reboot: Power down/);
    expect(r.code).toBe(0);
  }, 400_000);

  test('--expect matches the ready line and exits 0', async () => {
    const r = await kilnRun([efi, '--expect', 'kiln: ready in \\d+ ms', '--timeout', '300']);
    expect(r.out).toMatch(/Run \/init as init process/);
    expect(r.code).toBe(0);
  }, 400_000);

  test('a crashing init prints the cause and the machine reboots instead of hanging', async () => {
    const dir = path.join(work, 'crash');
    await import('node:fs/promises').then((fs) => fs.mkdir(dir, { recursive: true }));
    await writeFile(path.join(dir, 'kiln.yml'), 'name: crash\nkernel:\n  cmdline: kiln.crash=modules\n');
    await copyFile(path.join(root, 'examples/kiln.lock'), path.join(dir, 'kiln.lock'));
    const built = await kiln(['build', path.join(dir, 'kiln.yml'), '--out', path.join(dir, 'out'), '--profile', 'fast', '-q']);
    expect(built.code).toBe(0);
    // --expect ready would be a failure: the run must end with the guest's reboot (exit 4), not a timeout (124).
    const r = await kilnRun([path.join(dir, 'out', 'BOOTX64.EFI'), '--expect', 'kiln: ready in', '--timeout', '300']);
    expect(r.out).toMatch(/kiln\.crash=modules/);
    expect(r.out).not.toMatch(/kiln: ready in/);
    expect(r.code).toBe(4);
  }, 400_000);
});
