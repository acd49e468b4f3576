/**
 * End to end, two architectures from one config and one stick: examples/multiarch.yml (layout: source, fast profile).
 * `kiln build` makes one small UKI per architecture and leaves the stick's tree beside them; both UKIs are PE images
 * of their architecture. `kiln disk` writes one FAT32 ESP holding both UKIs, linux_amd64/ and linux_arm64/ (Node and
 * its libraries) and one shared src/ (the init and the programs): sgdisk and mtools judge it. The same disk image
 * then boots under qemu-system-x86_64 + OVMF and under qemu-system-aarch64 -M virt + AAVMF, and on each the first
 * stage mounts the stick by its label and the same TypeScript program (greet, with its npm dependency) runs from it.
 * The aarch64 boot ends through the guest's ACPI power button (kiln run's SIGTERM).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { BuildResult } from '../../src/pipeline/build.js';
import { decodePe, peSectionBytes, IMAGE_FILE_MACHINE_AMD64, IMAGE_FILE_MACHINE_ARM64, type PeImage } from '../../src/formats/pe/index.js';
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
  const data = peSectionBytes(bytes, pe, name);
  if (!data) throw new Error(`no ${name} section`);
  return data;
}

describe('examples/multiarch.yml', () => {
  test("one result per architecture, in the config's order, into one folder", () => {
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

  test("both UKIs stay far below 45 MB; the stick's tree is beside them in the output folder", async () => {
    for (const r of results) expect(r.size).toBeLessThan(45e6);
    for (const f of [
      'linux_amd64/bin/node',
      'linux_arm64/bin/node',
      'linux_amd64/lib/libc.so.6',
      'src/kiln/device/init/main.ts',
      'src/greet/main.ts',
      'src/greet/node_modules/ms/package.json',
    ]) {
      expect(existsSync(path.join(work, 'out', f)), f).toBe(true);
    }
    expect(results.map((r) => r.stick?.label)).toEqual(['ESP', 'ESP']);
  });

  test('kiln run of such an EFI away from its stick: one clear line, no boot', async () => {
    const alone = path.join(work, 'alone');
    await mkdir(alone);
    await copyFile(path.join(work, 'out', 'BOOTX64.EFI'), path.join(alone, 'BOOTX64.EFI'));
    const r = await kiln(['run', path.join(alone, 'BOOTX64.EFI'), '--timeout', '60']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `kiln: error: ${path.join(alone, 'BOOTX64.EFI')} is built with layout: source, and its stick's linux_amd64/bin/node is not beside it`,
    );
    expect(r.stdout).not.toContain('Linux version');
  });
});

describe('one stick for both architectures (kiln disk examples/multiarch.yml)', () => {
  const stick = () => path.join(work, 'stick.img');
  beforeAll(async () => {
    const r = await kiln(['disk', 'examples/multiarch.yml', '--out', stick(), '--profile', 'fast', '-q']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  }, 300_000);

  test("sgdisk and mtools read one ESP with both UKIs, both architectures' folders and one src/", () => {
    expect(spawnSync('sgdisk', ['-v', stick()], { encoding: 'utf8' }).stdout).toMatch(/No problems found/);
    const mdir = (dir: string) =>
      spawnSync('mdir', ['-b', '-i', `${stick()}@@1M`, dir], { encoding: 'utf8', env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } }).stdout;
    expect(mdir('::/EFI/BOOT')).toMatch(/BOOTX64\.EFI[^]*BOOTAA64\.EFI|BOOTAA64\.EFI[^]*BOOTX64\.EFI/);
    expect(mdir('::/')).toMatch(/linux_amd64[^]*linux_arm64[^]*src/);
    expect(mdir('::/linux_arm64/bin')).toContain('::/linux_arm64/bin/node');
    expect(mdir('::/src')).toMatch(/::\/src\/greet[^]*::\/src\/heartbeat[^]*::\/src\/kiln/);
  });

  for (const arch of ['x86_64', 'aarch64'] as const) {
    test.skipIf(arch === 'aarch64' && !hasQemuArm)(
      `${arch}: the first stage mounts the stick by its label, the init and greet run from it`,
      async () => {
        const started = Date.now();
        let readyAt = 0;
        const r = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
          // --expect the power-off: exit 0 only once kiln run's SIGTERM has gone through the guest's ACPI power
          // button to the init's clean shutdown, after greet (a one-shot service) has printed.
          const child = spawn(process.execPath, [...KILN_FROM_SOURCE, 'run', stick(), '--arch', arch, '--expect', 'reboot: Power down', '--timeout', '600'], {
            cwd: root,
            env: { ...process.env, CI: 'true' },
          });
          let out = '';
          let stopping = false;
          child.stdout.setEncoding('utf8').on('data', (d: string) => {
            out += d;
            if (!readyAt && /kiln: ready in \d+ ms/.test(out)) readyAt = Date.now();
            if (readyAt && !stopping && /\[greet\] greet: hello/.test(out)) {
              stopping = true;
              setTimeout(() => child.kill('SIGTERM'), 1000);
            }
          });
          child.stderr.resume();
          child.on('error', reject);
          child.on('close', (code) => resolve({ code, out }));
        });
        console.log(
          `${arch} from the stick under TCG: ready ${((readyAt - started) / 1000).toFixed(1)} s after kiln run started (${/kiln: ready in (\d+) ms/.exec(r.out)?.[1]} ms by the guest's clock)`,
        );
        const deb = arch === 'x86_64' ? 'amd64' : 'arm64';
        expect(r.out).toMatch(new RegExp(`Linux version \\S+-rt-${deb} .* PREEMPT_RT`));
        expect(r.out).toMatch(/kiln: first stage: \/dev\/vda1 mounted read-only at \/source/);
        expect(r.out.match(/kiln: ready in \d+ ms\r?\n/g)).toHaveLength(1);
        expect(r.out).toMatch(new RegExp(`kiln: config: multiarch \\(kiln [^,]+, build \\w+, ${arch}\\)`));
        expect(r.out).toContain('kiln: hostname: kiln-multiarch');
        expect(r.out).toMatch(
          new RegExp(`\\[greet\\] greet: hello multiarch, from kiln-multiarch \\(up [\\d.]+ \\w+, on ${arch === 'x86_64' ? 'x64' : 'arm64'}\\)`),
        );
        expect(r.out).toMatch(/\[heartbeat\] heartbeat: started/);
        expect(r.out).toMatch(/kiln: shutting down/);
        expect(r.code).toBe(0);
      },
      700_000,
    );
  }
});
