/**
 * End to end, two architectures from one config: build examples/multiarch.yml (fast profile) into one folder,
 * check both UKIs are PE images of their architecture, and boot the aarch64 one with `kiln run` under
 * qemu-system-aarch64 -M virt + AAVMF (TCG: ~40 s) — one boot, which also powers the guest off through its
 * ACPI power button. The x86_64 image boots in boot.test.ts.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { BuildResult } from '../../src/build/build.js';
import { decodePe, IMAGE_FILE_MACHINE_AMD64, IMAGE_FILE_MACHINE_ARM64, type PeImage } from '../../src/formats/pe/index.js';
import { KILN_FROM_SOURCE, kiln } from '../helpers/cli.js';

const root = path.resolve(import.meta.dirname, '../..');
const hasQemuArm = spawnSync('qemu-system-aarch64', ['--version']).status === 0;
let work: string;
let results: BuildResult[];

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'kiln-multiarch-'));
  const r = await kiln(['build', 'examples/multiarch.yml', '--out', path.join(work, 'out'), '--profile', 'fast', '--json', '-q']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  results = JSON.parse(r.stdout);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

function section(bytes: Uint8Array, pe: PeImage, name: string): Uint8Array {
  const s = pe.sections.find((x) => x.name === name);
  if (!s) throw new Error(`no ${name} section`);
  return bytes.subarray(s.pointerToRawData, s.pointerToRawData + Math.min(s.virtualSize, s.sizeOfRawData));
}

describe('examples/multiarch.yml', () => {
  test('one result per architecture, in the config\'s order, into one folder', () => {
    expect(results.map((r) => [r.arch, path.basename(r.efi)])).toEqual([
      ['x86_64', 'BOOTX64.EFI'],
      ['aarch64', 'BOOTAA64.EFI'],
    ]);
    expect(new Set(results.map((r) => path.dirname(r.efi))).size).toBe(1);
    expect(results.map((r) => r.kernel.release)).toEqual([expect.stringMatching(/-rt-amd64$/), expect.stringMatching(/-rt-arm64$/)]);
  });

  test('BOOTX64.EFI is an x86_64 PE (decodePe, and objdump as a second judge)', async () => {
    const efi = path.join(work, 'out', 'BOOTX64.EFI');
    const bytes = new Uint8Array(await readFile(efi));
    const pe = decodePe(bytes);
    expect(pe.machine).toBe(IMAGE_FILE_MACHINE_AMD64);
    expect(decodePe(section(bytes, pe, '.linux')).machine).toBe(IMAGE_FILE_MACHINE_AMD64);
    const objdump = spawnSync('objdump', ['-f', efi], { encoding: 'utf8' });
    if (objdump.status === 0) expect(objdump.stdout).toMatch(/file format pei-x86-64[^]*architecture: i386:x86-64/);
  });

  test('BOOTAA64.EFI: the arm64 stub, the uncompressed arm64 Image loaded whole, the PL011 console', async () => {
    const bytes = new Uint8Array(await readFile(path.join(work, 'out', 'BOOTAA64.EFI')));
    const pe = decodePe(bytes);
    expect(pe.machine).toBe(IMAGE_FILE_MACHINE_ARM64);
    const linux = section(bytes, pe, '.linux');
    const kernel = decodePe(linux);
    expect(kernel.machine).toBe(IMAGE_FILE_MACHINE_ARM64);
    expect(linux.length).toBeGreaterThan(25e6); // an Image, not a compressed vmlinuz
    expect(pe.sections.find((s) => s.name === '.linux')!.virtualSize).toBe(kernel.sizeOfImage);
    expect(new TextDecoder().decode(section(bytes, pe, '.cmdline'))).toMatch(/^console=tty0 console=ttyAMA0,115200 panic=-1/);
    expect(new TextDecoder().decode(section(bytes, pe, '.uname'))).toMatch(/-rt-arm64$/);
  });

  test.skipIf(!hasQemuArm)('BOOTAA64.EFI boots to one ready line under AAVMF and powers off on its power button', async () => {
    const efi = path.join(work, 'out', 'BOOTAA64.EFI');
    expect(existsSync(efi)).toBe(true);
    const started = Date.now();
    let readyAt = 0;
    const r = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      // --expect the power-off: the run ends with exit 0 only once kiln run's SIGTERM has gone through the
      // guest's ACPI power button to the init's clean shutdown.
      const child = spawn(process.execPath, [...KILN_FROM_SOURCE, 'run', efi, '--expect', 'reboot: Power down', '--timeout', '600'], {
        cwd: root,
        env: { ...process.env, CI: 'true' },
      });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (!readyAt && /kiln: ready in \d+ ms/.test(out)) {
          readyAt = Date.now();
          setTimeout(() => child.kill('SIGTERM'), 2000);
        }
      });
      child.stderr.resume();
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, out }));
    });
    console.log(`aarch64 under TCG: ready ${((readyAt - started) / 1000).toFixed(1)} s after kiln run started (${/kiln: ready in (\d+) ms/.exec(r.out)?.[1]} ms by the guest's clock)`);
    expect(r.out).toMatch(/Linux version \S+-rt-arm64 .* PREEMPT_RT/);
    expect(r.out.match(/kiln: ready in \d+ ms\r?\n/g)).toHaveLength(1);
    expect(r.out).toMatch(/kiln: config: multiarch \(kiln [^,]+, build \w+, aarch64\)/);
    expect(r.out).toMatch(/kiln: modules: \d+ loaded/);
    expect(r.out).toContain('kiln: hostname: kiln-multiarch');
    expect(r.out).toMatch(/kiln: power-button: \/dev\/input\/event\d/);
    expect(r.out).toMatch(/kiln: shutting down/);
    expect(r.code).toBe(0);
  }, 700_000);
});
