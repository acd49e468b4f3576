/**
 * The update stage as the init runs it, against fakes of everything it touches (sysfs, efivarfs, the slot's files,
 * DATA, mount(2)): an install → the trial boot → the health gate → the commit, across "boots" that share the fake
 * variable store and DATA; and each bad environment — no UEFI runtime, no slots, variables that cannot be written, a
 * full DATA, a second update while one is received — gives one line and a device that keeps running.
 */
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeGpt, GptPartitionType } from '../../src/formats/gpt/index.js';
import { parseBootConfig, type BootConfig } from '../contract/boot-config.ts';
import { efivarfsName, encodeBootNext, encodeEfivarfsFile } from '../contract/efi/variables.ts';
import { encodeStatement, type FirmwareStatement } from '../contract/update/statement.ts';
import { createLog } from '../base/log.ts';
import { fakeDataFs, type FakeDataFs } from '../testing/fake-data-fs.ts';
import { fakeEfiVars, type FakeEfiVars } from '../testing/fake-efivars.ts';
import { fakeFs, fakeLibc } from '../testing/fakes.ts';
import type { SlotFiles } from '../sys/slot-files.ts';
import { updateStage, type UpdateSys } from './stage.ts';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const PUBLIC_PEM = publicKey.export({ type: 'spki', format: 'pem' }) as string;
const MiB = 1 << 20;
const GUIDS = { esp: '0E5E3A3C-0000-4000-8000-000000000001', A: '0E5E3A3C-0000-4000-8000-00000000000A', B: '0E5E3A3C-0000-4000-8000-00000000000B' };
const GPT = encodeGpt({
  seed: 'stage',
  diskSizeBytes: 512 * MiB,
  partitions: [
    { type: GptPartitionType.efiSystem, name: 'ESP', sizeBytes: 64 * MiB, guid: GUIDS.esp },
    { type: GptPartitionType.microsoftBasicData, name: 'KILN_A', sizeBytes: 64 * MiB, guid: GUIDS.A },
    { type: GptPartitionType.microsoftBasicData, name: 'KILN_B', sizeBytes: 64 * MiB, guid: GUIDS.B },
  ],
}).head;

function sysfs(): Record<string, string> {
  const files: Record<string, string> = { '/sys/firmware/efi/systab': '', '/etc/kiln/update.pub': PUBLIC_PEM, '/proc/self/mounts': '' };
  files['/sys/class/block/vda/uevent'] = 'MAJOR=254\nMINOR=0\nDEVNAME=vda\nDEVTYPE=disk\n';
  files['/sys/class/block/vda/size'] = String((512 * MiB) / 512);
  ['ESP', 'KILN_A', 'KILN_B'].forEach((name, i) => {
    const n = i + 1;
    files[`/sys/class/block/vda${n}/uevent`] = `MAJOR=254\nMINOR=${n}\nDEVNAME=vda${n}\nDEVTYPE=partition\nPARTN=${n}\nPARTNAME=${name}\n`;
    files[`/sys/class/block/vda${n}/size`] = String((64 * MiB) / 512);
    files[`/sys/class/block/vda${n}/start`] = String(2048 + i * 131072);
    files[`/sys/class/block/vda/vda${n}/partition`] = String(n);
  });
  return files;
}

function config(version: string, buildId: string): BootConfig {
  return parseBootConfig(
    JSON.stringify({
      name: 'fleet',
      hostname: 'fleet',
      kilnVersion: '0.1.0',
      version,
      buildId,
      arch: 'x86_64',
      modules: [],
      storage: { waitSeconds: 1, partitions: [{ label: 'ESP', filesystem: 'vfat', size: '64M', esp: true, options: [], required: true, fsck: false }] },
      update: { publicKey: '/etc/kiln/update.pub', slotSize: '64M', healthSeconds: 1, stateDir: '/data/kiln/update', allowDowngrade: false },
    }),
  );
}

/** Files of every FAT the stage mounts, by absolute path; a mount point maps to its device's folder. */
function fatFiles(): SlotFiles & { byPath: Map<string, Buffer> } {
  const byPath = new Map<string, Buffer>();
  const open = new Map<number, string>();
  let fd = 3;
  return {
    byPath,
    create: (file) => (byPath.set(file, Buffer.alloc(0)), open.set(++fd, file), fd),
    write: (n, bytes) => void byPath.set(open.get(n)!, Buffer.concat([byPath.get(open.get(n)!)!, bytes])),
    fsync: () => {},
    close: (n) => void open.delete(n),
    rename: (from, to) => (byPath.set(to, byPath.get(from)!), void byPath.delete(from)),
    remove: (file) => void byPath.delete(file),
    clear: (dir) => [...byPath.keys()].filter((f) => f.startsWith(`${dir}/`)).forEach((f) => byPath.delete(f)),
    exists: (file) => byPath.has(file),
    fsyncDir: () => {},
    size: (file) => byPath.get(file)!.length,
    freeBytes: () => 60 * MiB,
    dropCaches: () => {},
    *chunks(file) {
      yield byPath.get(file)!;
    },
  };
}

interface Device {
  vars: FakeEfiVars;
  data: FakeDataFs;
  lines: string[];
  reboots: number;
  files: ReturnType<typeof fatFiles>;
  /** The last boot's mount(2) and umount2(2) calls. */
  mounts: string[];
}

function newDevice(): Device {
  return { vars: fakeEfiVars(), data: fakeDataFs(), lines: [], reboots: 0, files: fatFiles(), mounts: [] };
}

/** One boot of `build` on `device`, booted by the firmware from entry `bootCurrent` (undefined: the fallback). */
function boot(device: Device, build: { version: string; buildId: string }, bootCurrent?: number, fs = fakeFs(sysfs())) {
  if (bootCurrent === undefined) device.vars.remove(efivarfsName('BootCurrent'));
  else device.vars.vars.set(efivarfsName('BootCurrent'), encodeEfivarfsFile({ attributes: 6, data: encodeBootNext(bootCurrent) }));
  // The firmware consumes BootNext before it boots that entry.
  device.vars.remove(efivarfsName('BootNext'));
  const log = createLog(
    (text) => void device.lines.push(text.trimEnd()),
    () => 0,
  );
  const sys: UpdateSys = {
    efivars: device.vars,
    slotFiles: device.files,
    readBlock: (path, offset, length) => (path === '/dev/vda' ? GPT.subarray(offset, offset + length) : new Uint8Array(length)),
    reboot: () => void device.reboots++,
    isoNow: () => '2026-12-04T00:00:00.000Z',
  };
  const ctx = {
    config: config(build.version, build.buildId),
    fs,
    data: device.data,
    libc: (() => {
      const libc = fakeLibc();
      device.mounts = libc.calls;
      return libc;
    })(),
    log,
    mounted: [] as string[],
    sleep: async () => {},
    now: (() => {
      let t = 0;
      return () => (t += 1000);
    })(),
  };
  return updateStage(ctx, sys);
}

const payload = Buffer.from('a new kiln firmware '.repeat(500));
function request(over: Partial<FirmwareStatement> = {}, body = payload) {
  const statement: FirmwareStatement = {
    type: 'kiln-firmware/v1',
    name: 'fleet',
    version: '1.1.0',
    buildId: 'b2',
    arch: 'x86_64',
    size: payload.length,
    sha256: createHash('sha256').update(payload).digest('hex'),
    kiln: '0.1.0',
    ...over,
  };
  const bytes = encodeStatement(statement);
  return {
    statement: bytes,
    signature: new Uint8Array(sign(null, bytes, privateKey)),
    payload: (async function* () {
      yield body;
    })(),
    force: false,
    reboot: true,
  };
}

const V1 = { version: '1.0.0', buildId: 'b1' };
const V2 = { version: '1.1.0', buildId: 'b2' };
const healthy = { containers: () => [] };
const until = async (done: () => boolean) => {
  for (let i = 0; i < 100 && !done(); i++) await new Promise((r) => setTimeout(r, 1));
};

describe('the update stage across boots', () => {
  it('installs into slot B, the trial boot commits after the health gate, the ESP fallback follows', async () => {
    const device = newDevice();
    const first = boot(device, V1);
    expect(first.detail).toBe('booted the ESP fallback (no BootCurrent), committed A');
    const status = first.handle.status();
    expect(status.slots.map((s) => [s.name, s.entry, s.committed])).toEqual([
      ['A', 0, true],
      ['B', 1, false],
    ]);
    const installed = await first.handle.install(request());
    expect(installed).toMatchObject({ slot: 'B', rebooting: true });
    expect(device.reboots).toBe(1);
    expect(device.files.byPath.get('/run/kiln/slot-B/EFI/kiln/KILNX64.EFI')).toEqual(payload);
    expect(Buffer.from(device.vars.vars.get(efivarfsName('BootNext'))!).toString('hex')).toBe('070000000100');

    const trial = boot(device, V2, 1);
    expect(trial.detail).toBe('booted slot B (Boot0001), committed A, trial boot');
    expect(trial.handle.status().pending).toMatchObject({ phase: 'trying', slot: 'B' });
    trial.handle.afterReady(healthy);
    await until(() => trial.handle.status().last?.outcome === 'committed');
    expect(trial.handle.status()).toMatchObject({ last: { outcome: 'committed', buildId: 'b2' }, running: { slot: 'B' } });
    expect(device.lines.join('\n')).toMatch(/update: 1\.1\.0 \(build b2\) committed: slot B is first in BootOrder/);
    await until(() => device.lines.some((l) => l.includes('the ESP fallback EFI/BOOT/BOOTX64.EFI is now')));
    expect(device.files.byPath.get('/run/kiln/esp/EFI/BOOT/BOOTX64.EFI')).toEqual(payload);
    // The boot that committed takes the next update at once, into the other slot (its trial is over).
    const next = Buffer.from('the firmware after that '.repeat(400));
    const after = request({ version: '1.2.0', buildId: 'b3', size: next.length, sha256: createHash('sha256').update(next).digest('hex') }, next);
    await expect(trial.handle.install(after)).resolves.toMatchObject({ slot: 'A' });
    expect(device.files.byPath.get('/run/kiln/slot-A/EFI/kiln/KILNX64.EFI')).toEqual(next);

    const cold = boot(device, V2, 1);
    expect(cold.detail).toBe('booted slot B (Boot0001), committed B');
  });

  it('a layout: source firmware: its tree fills slot B, its UKI becomes the fallback, a copy cut short is made on the next boot', async () => {
    const uki = Buffer.from('the UKI of a source build '.repeat(300));
    const dir = mkdtempSync(path.join(tmpdir(), 'kiln-stage-tree-'));
    mkdirSync(path.join(dir, 'EFI/kiln'), { recursive: true });
    mkdirSync(path.join(dir, 'linux_amd64'));
    writeFileSync(path.join(dir, 'EFI/kiln/KILNX64.EFI'), uki);
    writeFileSync(path.join(dir, 'linux_amd64/kiln-build'), 'b2');
    execFileSync('tar', ['--create', '--gzip', `--file=${dir}/slot.tar`, '--format=gnu', '-C', dir, 'EFI/kiln/KILNX64.EFI', 'linux_amd64/kiln-build']);
    const tar = readFileSync(`${dir}/slot.tar`);
    rmSync(dir, { recursive: true });
    const device = newDevice();
    device.files.byPath.set('/run/kiln/slot-B/linux_amd64/node', Buffer.from('an older tree'));
    const sha256 = createHash('sha256').update(tar).digest('hex');
    await boot(device, V1).handle.install(request({ format: 'tar+gzip', size: tar.length, sha256 }, tar));
    expect([...device.files.byPath.keys()].filter((f) => f.startsWith('/run/kiln/slot-B/')).sort()).toEqual([
      '/run/kiln/slot-B/EFI/kiln/KILNX64.EFI',
      '/run/kiln/slot-B/linux_amd64/kiln-build',
    ]);
    // The commit's copy to the ESP is cut short (a power cut, an I/O error): the commit stands.
    const create = device.files.create;
    device.files.create = (file) => {
      if (file.startsWith('/run/kiln/esp/')) throw Object.assign(new Error('EIO'), { code: 'EIO' });
      return create(file);
    };
    const trial = boot(device, V2, 1);
    trial.handle.afterReady(healthy);
    await until(() => device.lines.some((l) => l.includes('ESP fallback was not replaced')));
    expect(trial.handle.status().last).toMatchObject({ outcome: 'committed', buildId: 'b2' });
    device.files.create = create;
    // The next ordinary boot makes the copy: the slot's UKI, not the tar, read from the slot mounted read-only.
    const next = boot(device, V2, 1);
    next.handle.afterReady(healthy);
    await until(() => device.files.byPath.has('/run/kiln/esp/EFI/BOOT/BOOTX64.EFI'));
    expect(device.files.byPath.get('/run/kiln/esp/EFI/BOOT/BOOTX64.EFI')).toEqual(uki);
    expect(device.mounts.filter((m) => m.startsWith('mount /dev/vda'))).toEqual([
      'mount /dev/vda3 /run/kiln/slot-B vfat 0xf -',
      'mount /dev/vda1 /run/kiln/esp vfat 0xe -',
    ]);
    await until(() => device.lines.some((l) => l.includes('the ESP fallback EFI/BOOT/BOOTX64.EFI is now')));
    const later = boot(device, V2, 1);
    later.handle.afterReady(healthy);
    expect(device.mounts.filter((m) => m.startsWith('mount /dev/vda'))).toEqual([]);
  });

  it('a trial that ends on the committed slot is recorded as rolled back, and the build is not tried again', async () => {
    const device = newDevice();
    await boot(device, V1).handle.install(request());
    const back = boot(device, V1, 0); // the firmware fell back: BootOrder still starts with A
    expect(back.handle.status()).toMatchObject({ last: { outcome: 'rolled-back', buildId: 'b2' }, failed: ['b2'] });
    await expect(back.handle.install(request())).rejects.toThrow(/failed its trial before/);
    expect(device.lines.join('\n')).toMatch(/update to 1\.1\.0 rolled back: the firmware did not start build b2 from slot B/);
  });

  it('a failed health gate reboots into the committed slot with the reason recorded', async () => {
    const device = newDevice();
    await boot(device, V1).handle.install(request());
    const trial = boot(device, V2, 1);
    trial.handle.afterReady({ containers: () => [{ name: 'web', state: 'exited' }] });
    await until(() => device.reboots === 2);
    expect(trial.handle.status().last).toMatchObject({
      outcome: 'rolled-back',
      reason: expect.stringMatching(/^health gate: container web is exited after \d+ s/),
    });
  });
});

describe('the update stage in a bad environment: one line, the device keeps running', () => {
  it('no UEFI runtime services', () => {
    const fs = fakeFs({ ...sysfs() });
    fs.files.delete('/sys/firmware/efi/systab');
    const r = boot(newDevice(), V1, undefined, fs);
    expect(r.detail).toMatch(/^unavailable: \/sys\/firmware\/efi is missing: booted without UEFI runtime services/);
    expect(r.handle.status()).toMatchObject({ available: false });
  });

  it('a disk without slots', () => {
    const files = sysfs();
    files['/sys/class/block/vda3/uevent'] = files['/sys/class/block/vda3/uevent']!.replace('KILN_B', 'DATA');
    expect(boot(newDevice(), V1, undefined, fakeFs(files)).detail).toMatch(/^unavailable: no partition named KILN_B/);
  });

  it('EFI variables that cannot be written', async () => {
    const device = newDevice();
    device.vars.failWrites = 'EROFS';
    const r = boot(device, V1);
    expect(r.detail).toBe("unavailable: the firmware's EFI variables are not writable (EROFS)");
    await expect(r.handle.install(request())).rejects.toThrow(/updates are unavailable on this device: the firmware's EFI variables are not writable/);
  });

  it('a full DATA partition: the install is refused before the slot is written, nothing points at it', async () => {
    const device = newDevice();
    const r = boot(device, V1);
    device.data.fail('write', '/data', 'ENOSPC');
    await expect(r.handle.install(request())).rejects.toThrow(/ENOSPC/);
    expect(device.files.byPath.size).toBe(0);
    expect(device.vars.vars.has(efivarfsName('BootNext'))).toBe(false);
    expect(device.reboots).toBe(0);
  });

  it('a second update while one is being received', async () => {
    const device = newDevice();
    const r = boot(device, V1);
    let release!: () => void;
    const slow = {
      ...request(),
      payload: (async function* () {
        await new Promise<void>((resolve) => (release = resolve));
        yield payload;
      })(),
    };
    const first = r.handle.install(slow);
    await until(() => r.handle.status().pending?.phase === 'receiving');
    await expect(r.handle.install(request())).rejects.toThrow(/an update is already being received \(1\.1\.0, 0 of 10000 bytes\)/);
    release();
    await expect(first).resolves.toMatchObject({ slot: 'B' });
  });
});
