import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { accelCacheFile, accelCacheKey, readAccelVerdict, writeAccelVerdict } from './accel-cache.js';
import { judgeProbe } from './accel-probe.js';
import { resolveAccel, type AccelContext } from './accel.js';
import { archSpec } from './arch.js';

describe('accel cache keying', () => {
  const parts = { arch: 'x86_64' as const, qemuVersion: 'QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)', kernelRelease: '6.1.0-40-amd64' };

  test('the key names arch, QEMU version and kernel release', () => {
    expect(accelCacheKey(parts)).toBe('x86_64 | QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3) | linux 6.1.0-40-amd64');
  });

  test('a new QEMU, a new kernel or another arch is another key', () => {
    const key = accelCacheKey(parts);
    expect(accelCacheKey({ ...parts, qemuVersion: 'QEMU emulator version 8.2.2' })).not.toBe(key);
    expect(accelCacheKey({ ...parts, kernelRelease: '6.1.0-41-amd64' })).not.toBe(key);
    expect(accelCacheKey({ ...parts, arch: 'aarch64' })).not.toBe(key);
  });

  test('the file lives in $XDG_CACHE_HOME/kiln, else ~/.cache/kiln', () => {
    expect(accelCacheFile({ XDG_CACHE_HOME: '/c' })).toBe('/c/kiln/accel.json');
    expect(accelCacheFile({ HOME: '/home/u' })).toBe('/home/u/.cache/kiln/accel.json');
  });
});

describe('accel cache file', () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-accel-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  test('round trip, other keys kept', async () => {
    const file = path.join(dir, 'kiln', 'accel.json');
    await writeAccelVerdict(file, 'a', { accel: 'tcg', cpu: 'max', reason: 'KVM failed: failed to set MSR 0x10a to 0x69' });
    await writeAccelVerdict(file, 'b', { accel: 'kvm', cpu: 'host', reason: 'ok' });
    expect(await readAccelVerdict(file, 'a')).toEqual({ accel: 'tcg', cpu: 'max', reason: 'KVM failed: failed to set MSR 0x10a to 0x69' });
    expect(await readAccelVerdict(file, 'b')).toEqual({ accel: 'kvm', cpu: 'host', reason: 'ok' });
    expect(await readAccelVerdict(file, 'c')).toBeUndefined();
    expect(JSON.parse(await readFile(file, 'utf8')).entries.a.probedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  test('a damaged file reads as empty and is replaced', async () => {
    const file = path.join(dir, 'accel.json');
    await writeFile(file, '{not json');
    expect(await readAccelVerdict(file, 'a')).toBeUndefined();
    await writeAccelVerdict(file, 'a', { accel: 'tcg', cpu: 'max', reason: 'r' });
    expect(await readAccelVerdict(file, 'a')).toMatchObject({ accel: 'tcg' });
  });
});

describe('judgeProbe', () => {
  const none = { stdout: '', stderr: '', exited: undefined, timedOut: false };
  test('-cpu host on this kind of host: failed to set MSR', () => {
    const stderr =
      'qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69\nqemu-system-x86_64: ../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: Assertion failed.\n';
    expect(judgeProbe({ ...none, stderr })).toEqual({ ok: false, reason: 'error: failed to set MSR 0x10a to 0x69' });
  });
  test('KVM internal error (QEMU stays alive, paused)', () => {
    expect(judgeProbe({ ...none, stderr: 'KVM internal error. Suberror: 1\nextra data[0]: 0x1\n' })).toEqual({
      ok: false,
      reason: 'KVM internal error. Suberror: 1',
    });
  });
  test('the firmware reached its boot manager', () => {
    expect(judgeProbe({ ...none, stdout: '\x1b[2JBdsDxe: loading Boot0001' })?.ok).toBe(true);
  });
  test('undecided while nothing happened; a failure once QEMU exits or time runs out', () => {
    expect(judgeProbe(none)).toBeUndefined();
    expect(judgeProbe({ ...none, exited: { code: 1, signal: null }, stderr: 'qemu: bad thing\n' })).toEqual({ ok: false, reason: 'qemu: bad thing' });
    expect(judgeProbe({ ...none, timedOut: true })?.ok).toBe(false);
  });
});

describe('resolveAccel', () => {
  let dir: string;
  let ctx: AccelContext;
  let notes: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-accel-'));
    // A stand-in QEMU that only knows --version: the cache key comes from the binary itself.
    const qemu = path.join(dir, 'qemu-system-x86_64');
    await writeFile(qemu, '#!/bin/sh\necho "QEMU emulator version 9.9.9 (test)"\n');
    await chmod(qemu, 0o755);
    const kvm = path.join(dir, 'kvm');
    await writeFile(kvm, '');
    notes = '';
    ctx = {
      spec: archSpec('x86_64'),
      qemu,
      firmware: { code: '/fw/code', vars: '/fw/vars' },
      tmpDir: dir,
      notes: new Writable({ write: (c, _e, cb) => ((notes += String(c)), cb()) }),
      env: { XDG_CACHE_HOME: path.join(dir, 'cache') },
      hostArch: 'x64',
      kernelRelease: '6.1.0-test',
      kvmDevice: kvm,
      probe: vi.fn(async () => ({ ok: false, reason: 'error: failed to set MSR 0x10a to 0x69' })),
    };
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  test('auto: probes once, falls back to TCG -cpu max, and remembers', async () => {
    expect(await resolveAccel('auto', ctx)).toEqual({ accel: 'tcg', cpu: 'max', reason: 'KVM failed: error: failed to set MSR 0x10a to 0x69' });
    expect(notes).toContain('KVM does not work here');
    expect(await resolveAccel('auto', ctx)).toMatchObject({ accel: 'tcg', cpu: 'max' });
    expect(ctx.probe).toHaveBeenCalledTimes(1);
    const cache = JSON.parse(await readFile(path.join(dir, 'cache', 'kiln', 'accel.json'), 'utf8'));
    expect(Object.keys(cache.entries)).toEqual(['x86_64 | QEMU emulator version 9.9.9 (test) | linux 6.1.0-test']);
  });

  test('auto: a new kernel release probes again', async () => {
    await resolveAccel('auto', ctx);
    await resolveAccel('auto', { ...ctx, kernelRelease: '6.1.0-other' });
    expect(ctx.probe).toHaveBeenCalledTimes(2);
  });

  test('auto: a working probe gives KVM with -cpu host', async () => {
    ctx.probe = async () => ({ ok: true, reason: 'KVM ran the firmware to its boot manager' });
    expect(await resolveAccel('auto', ctx)).toMatchObject({ accel: 'kvm', cpu: 'host' });
  });

  test('auto: no probe when KVM cannot work (other arch, no /dev/kvm)', async () => {
    expect(await resolveAccel('auto', { ...ctx, spec: archSpec('aarch64') })).toMatchObject({ accel: 'tcg', cpu: 'max' });
    expect(await resolveAccel('auto', { ...ctx, kvmDevice: path.join(dir, 'absent') })).toMatchObject({ accel: 'tcg' });
    expect(ctx.probe).not.toHaveBeenCalled();
  });

  test('tcg and kvm are taken at their word; kvm where impossible is an error', async () => {
    expect(await resolveAccel('tcg', ctx)).toMatchObject({ accel: 'tcg', cpu: 'max' });
    expect(await resolveAccel('kvm', ctx)).toMatchObject({ accel: 'kvm', cpu: 'host' });
    await expect(resolveAccel('kvm', { ...ctx, hostArch: 'arm64' })).rejects.toMatchObject({ code: 'KVM_UNAVAILABLE' });
    expect(ctx.probe).not.toHaveBeenCalled();
  });
});
