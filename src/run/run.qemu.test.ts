/**
 * End to end with real QEMU and OVMF: systemd-boot (a real EFI application) as BOOTX64.EFI on the ESP kiln writes.
 * With no entries it shows a menu with one entry, "Reboot Into Firmware Interface", counts down "Boot in 10 s." and
 * then resets the machine, which -no-reboot turns into QEMU's exit. A key press stops the countdown for good.
 * These runs use TCG (minutes of CPU, not hours): skipped only where qemu-system-x86_64 is not installed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runImage, type RunOptions } from './index.js';

const hasQemu = (() => {
  try {
    execFileSync('qemu-system-x86_64', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const SYSTEMD_BOOT = '/usr/lib/systemd/boot/efi/systemd-bootx64.efi';
const MENU = /Boot in \d+ s\./;

function sink(): { stream: Writable; text: () => string } {
  let text = '';
  return { stream: new Writable({ write: (c, _e, cb) => ((text += String(c)), cb()) }), text: () => text };
}

describe.skipIf(!hasQemu)('runImage with QEMU', () => {
  let tmp: string | undefined;
  const saved = { TMPDIR: process.env.TMPDIR, XDG_CACHE_HOME: process.env.XDG_CACHE_HOME };

  beforeAll(async () => {
    if (!existsSync(SYSTEMD_BOOT)) throw new Error(`${SYSTEMD_BOOT} is needed (Debian: systemd-boot-efi)`);
    tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-run-test-'));
    // Private temp and cache dirs: the runs must leave the first empty, and the KVM probe writes the second.
    process.env.TMPDIR = path.join(tmp, 'tmp');
    process.env.XDG_CACHE_HOME = path.join(tmp, 'cache');
    await mkdir(process.env.TMPDIR);
  });
  afterAll(async () => {
    for (const [k, v] of Object.entries(saved)) v === undefined ? delete process.env[k] : (process.env[k] = v);
    // Clean up only what beforeAll made: when it failed before mkdtemp, there is nothing to remove, and a second
    // error here would hide the first.
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  });

  const leftovers = () => readdir(process.env.TMPDIR!);

  function options(extra: Partial<RunOptions>) {
    const out = sink();
    const err = sink();
    return { out, err, options: { efi: SYSTEMD_BOOT, memory: '512M', cpus: 1, stdout: out.stream, stderr: err.stream, ...extra } satisfies RunOptions };
  }

  test('boots the image from the ESP and matches the console: outcome matched, exit 0', async () => {
    const { out, err, options: o } = options({ expect: MENU, timeout: 120, accel: 'auto' });
    const result = await runImage(o);
    expect(result, err.text()).toMatchObject({ outcome: 'matched', exitCode: 0 });
    expect(result.consoleTail).toMatch(/BdsDxe: starting Boot\d+/);
    expect(result.consoleTail).toContain('Reboot Into Firmware Interface');
    expect(out.text()).toContain('\x1b['); // echoed byte for byte, escapes included
    // auto probed KVM (or knew a verdict) and remembered it for this QEMU and kernel.
    const cache = JSON.parse(await readFile(path.join(process.env.XDG_CACHE_HOME!, 'kiln', 'accel.json'), 'utf8'));
    expect(Object.keys(cache.entries)).toHaveLength(1);
    expect(await leftovers()).toEqual([]);
  }, 180_000);

  test('keepVars: OVMF writes its boot variables into the kept store, and the next run boots from that store', async () => {
    const kept = path.join(tmp!, 'state.img.vars');
    const bootOrder = Buffer.from('BootOrder', 'utf16le'); // a variable's name as the store holds it
    const template = await readFile('/usr/share/OVMF/OVMF_VARS_4M.fd').catch(() => readFile('/usr/share/OVMF/OVMF_VARS.fd'));
    expect(template.includes(bootOrder)).toBe(false);
    for (const round of [1, 2]) {
      const { err, options: o } = options({ expect: MENU, timeout: 120, accel: 'tcg', keepVars: kept });
      expect(await runImage(o), `round ${round}: ${err.text()}`).toMatchObject({ outcome: 'matched', exitCode: 0 });
      expect((await readFile(kept)).includes(bootOrder), `round ${round}`).toBe(true);
    }
    expect((await readFile('/usr/share/OVMF/OVMF_VARS_4M.fd').catch(() => readFile('/usr/share/OVMF/OVMF_VARS.fd'))).equals(template)).toBe(true);
    expect(await leftovers()).toEqual([]);
  }, 300_000);

  test('a regex that never matches, timeout 20: outcome timeout, exit 124', async () => {
    // A key stops systemd-boot's countdown, so the guest waits forever, as a hung device would.
    const keys = new PassThrough();
    const { out, options: o } = options({ expect: /never printed/, timeout: 20, accel: 'tcg', stdin: keys });
    const pressed = new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (MENU.test(out.text())) {
          keys.write('\x1b[B'); // cursor down
          clearInterval(poll);
          resolve();
        }
      }, 100);
    });
    const started = Date.now();
    const result = await runImage(o);
    await pressed;
    expect(result).toMatchObject({ outcome: 'timeout', exitCode: 124 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(20_000);
    expect(await leftovers()).toEqual([]);
  }, 120_000);

  test('the guest resets (QEMU exits thanks to -no-reboot): outcome reset, exit 4', async () => {
    const { err, options: o } = options({ timeout: 150, accel: 'tcg' });
    const result = await runImage(o);
    expect(result, err.text()).toMatchObject({ outcome: 'reset', exitCode: 4 });
    expect(await leftovers()).toEqual([]);
  }, 180_000);

  test('abort: the power button is pressed; a guest that ignores it is killed after 20 s: stopped, exit 7', async () => {
    const controller = new AbortController();
    const keys = new PassThrough();
    const { out, options: o } = options({ accel: 'tcg', stdin: keys, timeout: 150 });
    const poll = setInterval(() => {
      if (MENU.test(out.text())) {
        clearInterval(poll);
        keys.write('\x1b[B'); // hold the menu, so the countdown's reset cannot end the run first
        controller.abort();
      }
    }, 100);
    const result = await runImage(o, controller.signal);
    clearInterval(poll);
    expect(result).toMatchObject({ outcome: 'stopped', exitCode: 7 });
    expect(await leftovers()).toEqual([]);
  }, 180_000);

  test('a missing image is a KilnError before QEMU starts, and nothing is left behind', async () => {
    const { options: o } = options({ efi: path.join(tmp!, 'nope.efi') });
    await expect(runImage(o)).rejects.toMatchObject({ name: 'KilnError', code: 'RUN_NO_IMAGE' });
    expect(await leftovers()).toEqual([]);
  });
});
