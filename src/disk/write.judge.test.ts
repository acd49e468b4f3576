// Second judges for `kiln disk`'s writer: sgdisk (gdisk), fsck.fat and mtools (dosfstools, mtools), e2fsck and
// debugfs (e2fsprogs), blkid (util-linux) must all accept the disk image and read back what was put in.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Partition } from '../../device/contract/config/storage-schema.ts';
import { planDisk } from './plan.js';
import { refreshEsp } from './refresh-esp.js';
import { writeDiskImage, type DiskSource } from './write.js';

const MiB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'kiln-disk-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PACKAGES: Record<string, string> = {
  sgdisk: 'gdisk',
  'fsck.fat': 'dosfstools',
  mcopy: 'mtools',
  e2fsck: 'e2fsprogs',
  debugfs: 'e2fsprogs',
  blkid: 'util-linux',
};

function judge(tool: string, args: string[]): string {
  try {
    return execFileSync(tool, args, { env: { ...process.env, MTOOLS_SKIP_CHECK: '1' }, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * MiB }).toString(
      'latin1',
    );
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${tool} not found: install the ${PACKAGES[tool]} package`);
    const e = error as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`${tool} ${args.join(' ')} failed:\n${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`);
  }
}

const part = (p: Partial<Partition> & Pick<Partition, 'label' | 'size'>): Partition => ({
  filesystem: 'ext4',
  esp: false,
  options: [],
  required: true,
  fsck: false,
  ...p,
});
const efi = Uint8Array.from({ length: 300_001 }, (_, i) => (i * 131) & 0xff);

function source(partitions: Partition[], sizeBytes: number | undefined, mtime = 1_700_000_000): DiskSource {
  return {
    plan: planDisk({ waitSeconds: 10, partitions }, { configName: 'test.yml', sizeBytes }),
    bootFiles: [{ path: 'EFI/BOOT/BOOTX64.EFI', data: efi }],
    configDir: dir,
    seed: 'judge',
    mtime,
  };
}

/** A partition's bytes as a file of its own, for tools that take no offset (fsck.fat, mtools). */
function extract(image: string, offset: number, size: number, name: string): string {
  const out = join(dir, name);
  writeFileSync(out, readFileSync(image).subarray(offset, offset + size));
  return out;
}

describe('writeDiskImage, judged by sgdisk, fsck.fat, mtools, e2fsck, debugfs and blkid', () => {
  mkdirSync(join(dir, 'data/kiln'), { recursive: true });
  writeFileSync(join(dir, 'data/kiln/secondary.yml'), 'hostname: judged\n');
  mkdirSync(join(dir, 'esp-extra/loader'), { recursive: true });
  writeFileSync(join(dir, 'esp-extra/loader/loader.conf'), 'timeout 0\n');
  const partitions = [
    part({ label: 'ESP', filesystem: 'vfat', size: '40M', esp: true, content: 'esp-extra' }),
    part({ label: 'LOGS', size: '8M' }),
    part({ label: 'DATA', size: 'rest', content: 'data' }),
  ];
  const image = join(dir, 'disk.img');
  let written: Awaited<ReturnType<typeof writeDiskImage>>;

  it('writes the image, and leaves no temporary file', async () => {
    written = await writeDiskImage(image, source(partitions, 96 * MiB));
    expect(written.map((p) => [p.number, p.label, p.offsetBytes / MiB, p.sizeBytes / MiB])).toEqual([
      [1, 'ESP', 1, 40],
      [2, 'LOGS', 41, 8],
      [3, 'DATA', 49, 46],
    ]);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('sgdisk: a valid GPT, partitions named by label, with the ESP type', () => {
    expect(judge('sgdisk', ['-v', image])).toMatch(/No problems found/);
    const table = judge('sgdisk', ['-p', image]);
    expect(table).toMatch(/^\s+1\s+2048\s+83967\s+40\.0 MiB\s+EF00\s+ESP$/m);
    expect(table).toMatch(/^\s+2\s+83968\s+100351\s+8\.0 MiB\s+8300\s+LOGS$/m);
    expect(table).toMatch(/^\s+3\s+100352\s+194559\s+46\.0 MiB\s+8300\s+DATA$/m);
  });

  it('fsck.fat finds no errors in the ESP, and mtools reads the EFI and the content back', () => {
    const esp = extract(image, MiB, 40 * MiB, 'esp.img');
    expect(judge('fsck.fat', ['-n', esp])).toMatch(/esp\.img: 6 files, \d+\/\d+ clusters/);
    expect(
      createHash('sha256')
        .update(Buffer.from(judge('mcopy', ['-n', '-i', esp, '::EFI/BOOT/BOOTX64.EFI', '-']), 'latin1'))
        .digest('hex'),
    ).toBe(createHash('sha256').update(efi).digest('hex'));
    expect(judge('mcopy', ['-n', '-i', esp, '::loader/loader.conf', '-'])).toBe('timeout 0\n');
  });

  it('e2fsck -fn finds both ext4 filesystems clean; debugfs reads the content', () => {
    for (const [label, offset] of [
      ['LOGS', 41],
      ['DATA', 49],
    ] as const) {
      expect(judge('e2fsck', ['-fn', `${image}?offset=${offset * MiB}`])).toMatch(new RegExp(`^${label}: \\d+/\\d+ files`, 'm'));
    }
    expect(judge('debugfs', ['-R', 'cat /kiln/secondary.yml', `${image}?offset=${49 * MiB}`])).toBe('hostname: judged\n');
  });

  it('blkid finds each filesystem by its label', () => {
    const labels = [1, 41, 49].map((mib) =>
      /LABEL="([^"]+)".* TYPE="(\w+)"/
        .exec(judge('blkid', ['-p', '-O', String(mib * MiB), image]))!
        .slice(1)
        .join(' '),
    );
    expect(labels).toEqual(['ESP vfat', 'LOGS ext4', 'DATA ext4']);
  });

  it('equal inputs give byte-identical images (ext4 content aside: mkfs -d copies host ctimes)', async () => {
    const reproducible = [partitions[0], partitions[1], part({ label: 'EMPTY', size: 'rest' })];
    const [one, two] = [join(dir, 'one.img'), join(dir, 'two.img')];
    await writeDiskImage(one, source(reproducible, 96 * MiB));
    await new Promise((resolve) => setTimeout(resolve, 1100)); // a second later: no time of day may leak in
    await writeDiskImage(two, source(reproducible, 96 * MiB));
    const hash = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
    expect(hash(two)).toBe(hash(one));
  });

  it('refreshEsp puts a new build on the ESP of a kept disk and leaves every other partition alone', async () => {
    const kept = join(dir, 'kept.img');
    await writeDiskImage(kept, source(partitions, 96 * MiB));
    const region = (from: number, to: number) =>
      createHash('sha256')
        .update(readFileSync(kept).subarray(from * MiB, to * MiB))
        .digest('hex');
    const dataBefore = region(41, 96);
    const newEfi = new TextEncoder().encode('a new build\n');
    const esp = await refreshEsp(kept, [{ path: 'EFI/BOOT/BOOTX64.EFI', data: newEfi }], 'ESP');
    expect([esp.name, esp.offsetBytes / MiB, esp.sizeBytes / MiB]).toEqual(['ESP', 1, 40]);
    expect(region(41, 96)).toBe(dataBefore);
    const extracted = extract(kept, MiB, 40 * MiB, 'kept-esp.img');
    expect(judge('fsck.fat', ['-n', extracted])).toMatch(/kept-esp\.img: 4 files/);
    expect(judge('mcopy', ['-n', '-i', extracted, '::EFI/BOOT/BOOTX64.EFI', '-'])).toBe('a new build\n');
    expect(judge('sgdisk', ['-v', kept])).toMatch(/No problems found/);
    await expect(refreshEsp(join(dir, 'esp-extra/loader/loader.conf'), [], 'ESP')).rejects.toThrow(/loader\.conf: not a GPT disk/);
  });

  it('a failing mkfs.ext4 leaves the old image exactly as it was, and no temporary file', async () => {
    const before = createHash('sha256').update(readFileSync(image)).digest('hex');
    // Random bytes: zeros would become a sparse file that fits.
    writeFileSync(join(dir, 'data/big.bin'), randomBytes(6 * MiB));
    try {
      await expect(writeDiskImage(image, source([partitions[0], part({ label: 'DATA', size: '4M', content: 'data' })], undefined))).rejects.toThrow(
        /^test\.yml: storage\.partitions\[1\] \(DATA\): making the ext4 filesystem: .*mkfs\.ext4 failed: /,
      );
    } finally {
      rmSync(join(dir, 'data/big.bin'));
    }
    expect(createHash('sha256').update(readFileSync(image)).digest('hex')).toBe(before);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
