import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { archSpec } from './arch.js';
import { findFirmware, keptFirmware, prepareFirmware, varsBeside } from './firmware.js';
import { findQemu } from './qemu-binary.js';

describe('firmware', () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-fw-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  test('the first complete pair wins', async () => {
    const code = path.join(dir, 'CODE.fd');
    const vars = path.join(dir, 'VARS.fd');
    await writeFile(code, 'c');
    await writeFile(vars, 'v');
    const pair = await findFirmware(archSpec('x86_64'), [
      { code, vars: path.join(dir, 'missing') },
      { code, vars },
    ]);
    expect(pair).toEqual({ code, vars });
  });

  test('a kept variable store is made from the template once, then used as the guest left it', async () => {
    const pair = { code: path.join(dir, 'CODE.fd'), vars: path.join(dir, 'VARS.fd') };
    await writeFile(pair.code, 'c');
    await writeFile(pair.vars, 'template');
    const kept = varsBeside(path.join(dir, 'state.img'));
    expect(kept).toBe(path.join(dir, 'state.img.vars'));
    expect(await keptFirmware(pair, kept)).toEqual({ code: pair.code, vars: kept });
    expect(await readFile(kept, 'utf8')).toBe('template');
    await writeFile(kept, 'BootNext'); // what a guest wrote (same size as the template)
    await keptFirmware(pair, kept);
    expect(await readFile(kept, 'utf8')).toBe('BootNext');
    expect(await readFile(pair.vars, 'utf8')).toBe('template'); // the template is never written
  });

  test('a kept store of another size is refused in one line, and left alone', async () => {
    const pair = { code: path.join(dir, 'OVMF_CODE_4M.fd'), vars: path.join(dir, 'VARS.fd') };
    await writeFile(pair.vars, 'template');
    const kept = path.join(dir, 'state.img.vars');
    await writeFile(kept, 'short');
    const err = await keptFirmware(pair, kept).catch((e) => e);
    expect(err).toMatchObject({ name: 'KilnError', code: 'RUN_VARS' });
    expect(err.message).toBe(`${kept} is not a UEFI variable store of OVMF_CODE_4M.fd (5 bytes, want 8)`);
    expect(await readFile(kept, 'utf8')).toBe('short');
  });

  test('missing firmware names the Debian package and the apt-get command', async () => {
    const err = await findFirmware(archSpec('aarch64'), [{ code: path.join(dir, 'AAVMF_CODE.fd'), vars: path.join(dir, 'AAVMF_VARS.fd') }]).catch((e) => e);
    expect(err).toMatchObject({ name: 'KilnError', code: 'FIRMWARE_MISSING' });
    expect(err.message).toContain('No UEFI firmware for aarch64');
    expect(err.hint).toMatch(/apt-get install -y qemu-efi-aarch64$/);
    const x86 = await findFirmware(archSpec('x86_64'), [{ code: '/nonexistent/OVMF_CODE_4M.fd', vars: '/nonexistent/OVMF_VARS_4M.fd' }]).catch((e) => e);
    expect(x86.hint).toMatch(/apt-get install -y ovmf$/);
  });

  test('each run gets its own copy of VARS', async () => {
    const vars = path.join(dir, 'VARS.fd');
    await writeFile(vars, 'pristine');
    const runDir = await mkdtemp(path.join(dir, 'run-'));
    const prepared = await prepareFirmware({ code: '/fw/CODE.fd', vars }, runDir);
    expect(prepared).toEqual({ code: '/fw/CODE.fd', vars: path.join(runDir, 'VARS.fd') });
    await writeFile(prepared.vars, 'written by a guest');
    expect(await readFile(vars, 'utf8')).toBe('pristine');
  });

  test('missing QEMU names the Debian package', async () => {
    const err = await findQemu(archSpec('x86_64'), { PATH: dir }).catch((e) => e);
    expect(err).toMatchObject({ code: 'QEMU_MISSING' });
    expect(err.message).toBe('qemu-system-x86_64 is not installed (needed by kiln run for x86_64)');
    expect(err.hint).toMatch(/apt-get install -y qemu-system-x86$/);
    const arm = await findQemu(archSpec('aarch64'), { PATH: dir }).catch((e) => e);
    expect(arm.hint).toMatch(/apt-get install -y qemu-system-arm$/);
  });
});
