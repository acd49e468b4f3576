/**
 * End to end: the hardware watchdog, in QEMU under OVMF through `kiln run`, which gives every guest an i6300esb.
 * Two images of one config with `watchdog: { timeoutSeconds: 10 }`, built once (fast profile; the second build
 * reuses every cached layer but the kiln one): the plain one stays up past twice the timeout, so the init's pets
 * reach the hardware, and disarms it on a clean shutdown; the one with `kiln.hang=ready` blocks the init's event loop
 * after the ready line, and the watchdog resets the machine. Boots take ~30-60 s under TCG: two boots in all.
 */
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { kiln, kilnRun } from '../helpers/cli.js';

const root = path.resolve(import.meta.dirname, '../..');
const TIMEOUT_S = 10;
const STAGE_LINE = `kiln: watchdog: /dev/watchdog (i6300esb), timeout ${TIMEOUT_S} s, pet every 3.3 s`;
const HANG_LINE = "kiln: kiln.hang=ready: blocking the init's event loop (diagnostics)";
const READY = /kiln: ready in \d+ ms/;
let work: string;
const efi: Record<'pets' | 'hangs', string> = { pets: '', hangs: '' };

async function buildImage(name: keyof typeof efi, cmdline: string): Promise<string> {
  const dir = path.join(work, name);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'kiln.yml'), `name: wd-${name}\nkernel:\n  cmdline: "${cmdline}"\nwatchdog:\n  timeoutSeconds: ${TIMEOUT_S}\n`);
  await copyFile(path.join(root, 'examples/kiln.lock'), path.join(dir, 'kiln.lock'));
  const built = await kiln(['build', path.join(dir, 'kiln.yml'), '--out', path.join(dir, 'out'), '--profile', 'fast', '--json', '-q']);
  expect(built.stderr).toBe('');
  expect(built.code).toBe(0);
  const result = JSON.parse(built.stdout) as { efi: string; modules: string[] };
  expect(result.modules).toEqual(expect.arrayContaining(['watchdog', 'i6300esb'])); // the driver and the core it needs
  return result.efi;
}

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'kiln-watchdog-'));
  efi.pets = await buildImage('pets', '');
  efi.hangs = await buildImage('hangs', 'kiln.hang=ready');
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('the hardware watchdog under kiln run', () => {
  test('pets keep the machine up past twice the timeout; a clean shutdown disarms the watchdog', async () => {
    let stopping = false;
    const r = await kilnRun([efi.pets, '--timeout', '300'], (text, child) => {
      if (!stopping && READY.test(text)) {
        stopping = true;
        // The watchdog was armed before the ready line: 2.5 timeouts from here, unpetted, it would have reset twice.
        setTimeout(() => child.kill('SIGTERM'), 2.5 * TIMEOUT_S * 1000);
      }
    });
    expect(r.out).toContain(STAGE_LINE);
    expect(r.out.match(/kiln: ready in \d+ ms\r?\n/g)).toHaveLength(1);
    expect(r.out).toContain('kiln: shutting down');
    expect(r.out).toContain('kiln: watchdog: /dev/watchdog disarmed (magic close)');
    expect(r.out).not.toContain('watchdog did not stop'); // the kernel's word for a close without the magic 'V'
    expect(r.out).toMatch(/reboot: Power down/);
    expect(r.code, r.err).toBe(0); // powered off on request: no reset came first (that would be exit 4)
  }, 400_000);

  test('a hung init stops the pets, and the watchdog resets the machine', async () => {
    let hungAt: number | undefined;
    const r = await kilnRun([efi.hangs, '--timeout', '300'], (text, child) => {
      if (hungAt === undefined && text.includes(HANG_LINE)) {
        hungAt = Date.now();
        // Far past the 10 s timeout: a watchdog that never fires ends the run here, stopped (exit 7), not reset.
        setTimeout(() => child.kill('SIGTERM'), 9 * TIMEOUT_S * 1000).unref();
      }
    });
    expect(r.out).toContain(STAGE_LINE);
    expect(r.out).toMatch(READY);
    expect(hungAt, 'the hang line never came').toBeDefined();
    // Nothing after the hang came from the guest's software: no shutdown, no kernel reboot, no panic — the hardware.
    const afterHang = r.out.slice(r.out.indexOf(HANG_LINE) + HANG_LINE.length);
    expect(afterHang).not.toMatch(/kiln: shutting down|reboot: Restarting system|Kernel panic/);
    expect(r.code, r.err).toBe(4); // kiln run's outcome `reset`: -no-reboot ended QEMU at the watchdog's reset
  }, 400_000);
});
