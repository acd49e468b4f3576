import { Writable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { archSpec } from './arch.js';
import { varsBeside } from './firmware.js';
import { resolveRunOptions } from './options.js';
import { parseSecureBoot, secureBootFirmware } from './secure-boot.js';

const sink = new Writable({ write: (_c, _e, cb) => cb() });

describe('kiln run --secure-boot', () => {
  test('alone it means the snakeoil keys; =setup no keys; anything else, one line and a hint', () => {
    expect(parseSecureBoot(true)).toBe('snakeoil');
    expect(parseSecureBoot('setup')).toBe('setup');
    expect(parseSecureBoot(undefined)).toBeUndefined();
    // commander hands `--secure-boot out/BOOTX64.EFI` the image as the value
    const err = (() => {
      try {
        parseSecureBoot('out/BOOTX64.EFI');
      } catch (e) {
        return e as { message: string; hint: string };
      }
    })();
    expect(err?.message).toBe("--secure-boot out/BOOTX64.EFI: expected snakeoil (Debian's test keys enrolled) or setup (no keys, Setup Mode)");
    expect(err?.hint).toBe('Write --secure-boot=snakeoil, or put --secure-boot after the image.');
  });

  test("x86_64: OVMF's secboot code with the store of the keys asked for", async () => {
    const spec = archSpec('x86_64');
    const pair = { code: '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd' };
    // Only where Debian's ovmf is installed: the pair must exist to be chosen.
    const found = await secureBootFirmware(spec, 'snakeoil').catch((e: Error) => e);
    if (found instanceof Error) expect(found.message).toMatch(/^No UEFI firmware for x86_64: none of \/usr\/share\/OVMF\/OVMF_CODE_4M\.secboot\.fd/);
    else expect(found).toEqual({ ...pair, vars: '/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd' });
    const setup = await secureBootFirmware(spec, 'setup').catch((e: Error) => e);
    if (!(setup instanceof Error)) expect(setup).toEqual({ ...pair, vars: '/usr/share/OVMF/OVMF_VARS_4M.fd' });
  });

  test('aarch64 is refused in one line, before anything starts', async () => {
    const message = "--secure-boot: x86_64 only (OVMF's Secure Boot build); kiln run has no Secure Boot firmware for aarch64";
    await expect(secureBootFirmware(archSpec('aarch64'), 'snakeoil')).rejects.toThrow(message);
    expect(() => resolveRunOptions({ efi: 'BOOTAA64.EFI', arch: 'aarch64', secureBoot: 'snakeoil', stdout: sink, stderr: sink })).toThrow(message);
    expect(resolveRunOptions({ efi: 'BOOTX64.EFI', secureBoot: 'setup', stdout: sink, stderr: sink }).secureBoot).toBe('setup');
  });

  test('a kept disk keeps a store per key state, apart from the plain one', () => {
    expect(varsBeside('/s/state.img')).toBe('/s/state.img.vars');
    expect(varsBeside('/s/state.img', 'snakeoil')).toBe('/s/state.img.secure-boot-snakeoil.vars');
    expect(varsBeside('/s/state.img', 'setup')).toBe('/s/state.img.secure-boot-setup.vars');
  });
});
