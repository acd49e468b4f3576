/**
 * End to end: `kiln disk examples/gateway.yml` writes a whole disk that independent tools accept, that boots under
 * OVMF from its own ESP, whose DATA partition the init finds by label and mounts, and whose state survives from
 * run to run with --keep-disk, checked first by the e2fsck the image carries (DATA has fsck: true) — which also
 * repairs a DATA damaged on the host. Plus a degraded boot (a required partition missing) and the bad-input
 * messages. Boots take ~60-90 s under TCG: five here, each checking several things.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { kiln, kilnRun } from '../helpers/cli.js';

const root = path.resolve(import.meta.dirname, '../..');
const MiB = 1024 * 1024;
let work: string;
let disk: string;
let state: string;
/** Byte offsets of the partitions, from kiln disk's own report. */
let espOffset: number;
let dataOffset: number;

/** A judge from e2fsprogs, gdisk, dosfstools: its stdout (throws with its output when it fails). */
function judge(tool: string, args: string[]): string {
  try {
    return execFileSync(tool, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  } catch (error) {
    const e = error as { stdout?: Buffer; stderr?: Buffer; code?: string };
    if (e.code === 'ENOENT') throw new Error(`${tool} not found (packages: gdisk, dosfstools, e2fsprogs)`);
    throw new Error(`${tool} ${args.join(' ')} failed:\n${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`);
  }
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Boots until ready, then presses the power button (SIGTERM to kiln run) for a clean power-off. */
function bootAndPowerOff(args: string[]) {
  let stopping = false;
  return kilnRun([...args, '--timeout', '400'], (text, child) => {
    if (!stopping && /kiln: ready in \d+ ms/.test(text)) {
      stopping = true;
      setTimeout(() => child.kill('SIGTERM'), 1000);
    }
  });
}

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'kiln-disk-e2e-'));
  disk = path.join(work, 'disk.img');
  state = path.join(work, 'state.img');
  const r = await kiln(['disk', 'examples/gateway.yml', '--out', disk, '--profile', 'fast', '--json', '-q']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const result = JSON.parse(r.stdout) as { partitions: { label: string; offsetBytes: number }[] };
  espOffset = result.partitions.find((p) => p.label === 'ESP')!.offsetBytes;
  dataOffset = result.partitions.find((p) => p.label === 'DATA')!.offsetBytes;
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('kiln disk examples/gateway.yml', () => {
  test('sgdisk, fsck.vfat and e2fsck accept the disk; partitions are named by label; DATA holds its content', async () => {
    expect((await stat(disk)).size).toBe(1024 * MiB);
    expect(judge('sgdisk', ['-v', disk])).toMatch(/No problems found/);
    const table = judge('sgdisk', ['-p', disk]);
    expect(table).toMatch(/^\s+1\s+2048\s+133119\s+64\.0 MiB\s+EF00\s+ESP$/m);
    expect(table).toMatch(/^\s+2\s+133120\s+\d+\s+958\.0 MiB\s+8300\s+DATA$/m);
    const esp = path.join(work, 'esp.img');
    await writeFile(esp, (await readFile(disk)).subarray(espOffset, espOffset + 64 * MiB));
    expect(judge('fsck.vfat', ['-n', esp])).toMatch(/esp\.img: \d+ files, \d+\/\d+ clusters/);
    expect(judge('e2fsck', ['-fn', `${disk}?offset=${dataOffset}`])).toMatch(/^DATA: \d+\/\d+ files/m);
    expect(judge('debugfs', ['-R', 'cat /README.txt', `${disk}?offset=${dataOffset}`])).toContain('The DATA partition of examples/gateway.yml');
  });

  test('boots from its own ESP with --keep-disk: DATA found by label and mounted, the secondary default copied there', async () => {
    const before = await sha256(disk);
    const r = await bootAndPowerOff([disk, '--keep-disk', state]);
    expect(r.err).toContain(`kiln: kept disk ${state}: created from ${disk}`);
    // fsck: true: Debian's e2fsck, shipped in the tools layer, checks DATA before it is mounted.
    expect(r.out).toMatch(/kiln: DATA \(ext4\) \/dev\/vda2: e2fsck: clean\r?\n/);
    expect(r.out).toMatch(/kiln: DATA \(ext4\) \/dev\/vda2 → \/data \(noatime,nodev,nosuid\)\r?\n/);
    expect(r.out).toMatch(/kiln: storage: ESP on \/dev\/vda1 \(not mounted\); DATA → \/data \(\d+ ms\)/);
    expect(r.out).not.toMatch(/degraded|modules: .*failed/);
    expect(r.out).toMatch(/kiln: ready in \d+ ms/);
    expect(r.out).toMatch(/reboot: Power down/);
    expect(r.code).toBe(0);
    // The image given to kiln run is never changed; the kept disk has the device's writes, cleanly unmounted.
    expect(await sha256(disk)).toBe(before);
    expect(judge('e2fsck', ['-fn', `${state}?offset=${dataOffset}`])).toMatch(/^DATA: \d+\/\d+ files/m);
    expect(judge('debugfs', ['-R', 'cat /kiln/secondary.yml', `${state}?offset=${dataOffset}`])).toMatch(/hostname: gateway-01/);
  }, 500_000);

  test('an edit made on the host between two boots (debugfs) takes effect on the second', async () => {
    const image = `${state}?offset=${dataOffset}`;
    const edited = judge('debugfs', ['-R', 'cat /kiln/secondary.yml', image]).replace('gateway-01', 'gateway-edited');
    const local = path.join(work, 'secondary.yml');
    await writeFile(local, edited);
    await writeFile(path.join(work, 'edit.debugfs'), `rm /kiln/secondary.yml\nwrite ${local} /kiln/secondary.yml\n`);
    judge('debugfs', ['-w', '-f', path.join(work, 'edit.debugfs'), image]);
    expect(judge('debugfs', ['-R', 'cat /kiln/secondary.yml', image])).toContain('hostname: gateway-edited');

    const r = await kilnRun([disk, '--keep-disk', state, '--expect', 'kiln: ready in \\d+ ms', '--timeout', '400']);
    expect(r.err).toContain(`kiln: booting the kept disk ${state} as it is`);
    expect(r.out).toMatch(/kiln: DATA \(ext4\) \/dev\/vda2 → \/data/);
    expect(r.out).toMatch(/kiln: hostname: gateway-edited/);
    expect(r.code).toBe(0);
  }, 500_000);
});

describe('fsck: true on a DATA damaged on the host', () => {
  test('e2fsck -p repairs it at boot, says what it fixed, and DATA is mounted; the host e2fsck then finds it clean', async () => {
    const damaged = path.join(work, 'damaged.img');
    const kept = path.join(work, 'damaged-state.img');
    await copyFile(disk, damaged);
    const image = `${damaged}?offset=${dataOffset}`;
    // A wrong link count (a preen-safe repair) and the "not cleanly unmounted" state that makes e2fsck -p look.
    await writeFile(path.join(work, 'damage.debugfs'), 'set_inode_field /README.txt links_count 3\nssv state 0\n');
    judge('debugfs', ['-w', '-f', path.join(work, 'damage.debugfs'), image]);
    expect(() => judge('e2fsck', ['-fn', image])).toThrow(/Inode \d+ ref count is 3, should be 1/);

    const r = await bootAndPowerOff([damaged, '--keep-disk', kept]);
    expect(r.out).toMatch(
      /kiln: DATA \(ext4\) \/dev\/vda2: e2fsck: errors corrected \(exit 1\): DATA was not cleanly unmounted, check forced; DATA: Inode \d+ ref count is 3, should be 1\. FIXED\r?\n/,
    );
    expect(r.out).toMatch(/kiln: DATA \(ext4\) \/dev\/vda2 → \/data \(noatime,nodev,nosuid\)\r?\n/);
    expect(r.out).not.toMatch(/degraded/);
    expect(r.out).toMatch(/reboot: Power down/);
    expect(r.code).toBe(0);
    const keptImage = `${kept}?offset=${dataOffset}`;
    expect(judge('e2fsck', ['-fn', keptImage])).toMatch(/^DATA: \d+\/\d+ files/m);
    expect(judge('debugfs', ['-R', 'stat /README.txt', keptImage])).toMatch(/Links: 1\s/);
  }, 500_000);
});

describe('a required partition missing', () => {
  test('boots degraded with what was expected and found, starts the console shell (debug), and still reaches ready', async () => {
    const dir = path.join(work, 'degraded');
    await mkdir(dir, { recursive: true });
    await copyFile(path.join(root, 'examples/kiln.lock'), path.join(dir, 'kiln.lock'));
    await writeFile(
      path.join(dir, 'kiln.yml'),
      [
        'name: degraded',
        'debug: true',
        'storage:',
        '  waitSeconds: 2',
        '  partitions:',
        '    - { label: ESP, filesystem: vfat, size: 64M, esp: true }',
        '    - { label: DATA, filesystem: ext4, size: rest, mount: /data }',
        '',
      ].join('\n'),
    );
    const built = await kiln(['build', path.join(dir, 'kiln.yml'), '--out', path.join(dir, 'out'), '--profile', 'fast', '-q']);
    expect(built.code).toBe(0);
    // The EFI alone: kiln run puts it on an ESP-only disk, so DATA is nowhere.
    const r = await kilnRun([path.join(dir, 'out', 'BOOTX64.EFI'), '--expect', 'kiln: ready in \\d+ ms', '--timeout', '400']);
    expect(r.out).toMatch(
      /kiln: degraded: required partition DATA \(ext4 → \/data\) not found after 2\.\d s\. Found: \/dev\/vda \(\d+ MiB, partition table\); ESP \(FAT32\) \/dev\/vda1\r?\n/,
    );
    expect(r.out).toMatch(/kiln: console shell: a Node\.js REPL on this console because the boot is degraded/);
    expect(r.out).toMatch(/kiln: storage: degraded \(1 required partition unavailable\)/);
    expect(r.out).not.toMatch(/Kernel panic/);
    expect(r.code).toBe(0);
  }, 500_000);
});

describe('bad input: one line naming what and where, and no disk written', () => {
  async function badConfig(name: string, partitions: string[], args: string[] = []) {
    const dir = path.join(work, 'bad', name);
    await mkdir(dir, { recursive: true });
    await copyFile(path.join(root, 'examples/kiln.lock'), path.join(dir, 'kiln.lock'));
    await writeFile(path.join(dir, 'kiln.yml'), ['name: bad', 'storage:', '  partitions:', ...partitions.map((p) => `    - ${p}`), ''].join('\n'));
    const out = path.join(dir, 'disk.img');
    const r = await kiln(['disk', path.join(dir, 'kiln.yml'), '--out', out, '-q', ...args]);
    await expect(stat(out)).rejects.toThrow(/ENOENT/);
    expect(r.code).toBe(1);
    return r.stderr.split('\n')[0]!;
  }
  const esp = '{ label: ESP, filesystem: vfat, size: 64M, esp: true }';

  test('duplicate labels, two "rest" partitions, a vfat label over 11 characters: file:line:column and key path', async () => {
    expect(await badConfig('dup', [esp, '{ label: DATA, filesystem: ext4, size: 1G }', '{ label: data, filesystem: ext4, size: rest }'])).toMatch(
      /^kiln: error: .*dup\/kiln\.yml:6:16: storage\.partitions\[2\]\.label: expected a label no other partition has, found "data" again \(partitions\[1\] has it\)$/,
    );
    expect(await badConfig('tworest', [esp, '{ label: A, filesystem: ext4, size: rest }', '{ label: B, filesystem: ext4, size: rest }'])).toMatch(
      /kiln\.yml:5:43: storage\.partitions\[1\]\.size: expected "rest" only on the last partition/,
    );
    expect(await badConfig('longlabel', ['{ label: EFI-SYSTEM-1, filesystem: vfat, size: 64M, esp: true }'])).toMatch(
      /kiln\.yml:4:16: storage\.partitions\[0\]\.label: expected a vfat label of at most 11 characters, found "EFI-SYSTEM-1" \(12\)$/,
    );
  });

  test('no ESP, a table bigger than --size, a missing content folder', async () => {
    expect(await badConfig('noesp', ['{ label: DATA, filesystem: ext4, size: rest }'])).toMatch(
      /^kiln: error: .*noesp\/kiln\.yml: storage\.partitions has no EFI System Partition \(esp: true\), so the disk could not boot$/,
    );
    expect(await badConfig('nofit', [esp, '{ label: DATA, filesystem: ext4, size: 100M }'], ['--size', '120M'])).toMatch(
      /kiln\.yml: storage\.partitions do not fit the disk: ESP 64 MiB \+ DATA 100 MiB end at 165 MiB, past the end of the 120 MiB disk \(--size 120M\) and its backup GPT$/,
    );
    expect(await badConfig('nocontent', [esp, '{ label: DATA, filesystem: ext4, size: rest, content: nowhere }'])).toMatch(
      /kiln\.yml: storage\.partitions\[1\]\.content \(DATA\): folder .*nocontent\/nowhere does not exist$/,
    );
  });
});

/** Root with loop devices (CI runs as root): a loop device stands in for a USB stick or an SSD. */
function loopDevicesWork(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('losetup', ['-f'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!loopDevicesWork())('kiln disk --device (a loop device as the disk)', () => {
  let backing: string;
  let device: string;
  beforeAll(async () => {
    backing = path.join(work, 'stick.raw');
    await writeFile(backing, new Uint8Array(0));
    execFileSync('truncate', ['-s', '512M', backing]);
    device = execFileSync('losetup', ['-f', '--show', '-P', backing]).toString().trim();
  });
  afterAll(() => {
    if (device) execFileSync('losetup', ['-d', device]);
  });

  test('asks first: without a terminal and without --yes nothing is written', async () => {
    const r = await kiln(['disk', 'examples/gateway.yml', '--device', device, '-q']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `kiln: error: refusing to write ${device} (loop device of ${backing}, 512 MiB) without a confirmation, and there is no terminal to ask on`,
    );
    expect((await readFile(backing)).subarray(0, MiB).every((b) => b === 0)).toBe(true);
  });

  test('--yes writes the whole device: GPT at its real end, partitions the kernel sees, filesystems by label', async () => {
    const r = await kiln(['disk', 'examples/gateway.yml', '--device', device, '--yes', '--profile', 'fast', '-q']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`${device}: 512 MiB GPT disk`));
    expect(judge('sgdisk', ['-v', device])).toMatch(/No problems found/);
    expect(judge('sgdisk', ['-p', device])).toMatch(/^\s+2\s+133120\s+1046527\s+446\.0 MiB\s+8300\s+DATA$/m);
    expect(judge('blkid', ['-p', '-s', 'LABEL', '-o', 'value', `${device}p2`]).trim()).toBe('DATA');
    expect(judge('e2fsck', ['-fn', `${device}p2`])).toMatch(/^DATA: \d+\/\d+ files/m);
  });

  test('refuses a mounted disk and a partition, naming what to do instead', async () => {
    const mnt = path.join(work, 'mnt');
    await mkdir(mnt, { recursive: true });
    execFileSync('mount', [`${device}p2`, mnt]);
    try {
      const r = await kiln(['disk', 'examples/gateway.yml', '--device', device, '--yes', '-q']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`kiln: error: --device ${device} is in use: ${device}p2 mounted at ${mnt}`);
    } finally {
      execFileSync('umount', [mnt]);
    }
    const p = await kiln(['disk', 'examples/gateway.yml', '--device', `${device}p1`, '--yes', '-q']);
    expect(p.stderr).toBe(
      `kiln: error: --device ${device}p1: is a partition; kiln writes a whole disk (its partition table too)\nkiln: Use the disk itself: --device ${device}\n`,
    );
  });
});
