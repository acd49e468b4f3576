// Second judges for the device's superblock readers: blkid (util-linux) and dumpe2fs (e2fsprogs) must agree with
// probeFilesystem on filesystems made by mkfs.ext2/3/4, mkfs.vfat and kiln's own FAT32 writer.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeFat32 } from '../../src/formats/fat/index.ts';
import { FAT_BPB } from './vfat.ts';
import { probeFilesystem, type Probe } from './probe.ts';

const dir = mkdtempSync(join(tmpdir(), 'kiln-probe-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const MiB = 1024 * 1024;

const PACKAGES: Record<string, string> = { blkid: 'util-linux', dumpe2fs: 'e2fsprogs', 'mkfs.ext4': 'e2fsprogs', 'mkfs.vfat': 'dosfstools' };

/** Runs a tool; its stdout, or (with `allowFail`) the failure's stderr. */
function tool(name: string, args: string[], allowFail = false): string {
  try {
    return execFileSync(name, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, E2FSPROGS_FAKE_TIME: '1700000000' } }).toString();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${name} not found: install the ${PACKAGES[name]} package`);
    const e = error as { stdout?: Buffer; stderr?: Buffer; status?: number };
    if (allowFail) return `exit ${e.status}\n${e.stderr?.toString() ?? ''}`;
    throw new Error(`${name} ${args.join(' ')} failed:\n${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`);
  }
}

function image(name: string, sizeMiB: number): string {
  const file = join(dir, name);
  writeFileSync(file, new Uint8Array(0));
  execFileSync('truncate', ['-s', `${sizeMiB}M`, file]);
  return file;
}

function probeFile(file: string): Probe {
  const bytes = readFileSync(file);
  return probeFilesystem((offset, length) => bytes.subarray(offset, offset + length));
}

/** blkid's low-level probe (-p: the superblocks themselves, no cache) as key → value. */
function blkid(file: string): Record<string, string> {
  const out = tool('blkid', ['-p', '-o', 'export', file], true);
  if (out.startsWith('exit ')) return {};
  return Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map((line) => line.split(/=(.*)/s).slice(0, 2) as [string, string]),
  );
}

function dumpe2fs(file: string): Record<string, string> {
  const out = tool('dumpe2fs', ['-h', file], true);
  return Object.fromEntries(
    out
      .split('\n')
      .filter((l) => l.includes(':'))
      .map((l) => [l.slice(0, l.indexOf(':')).trim(), l.slice(l.indexOf(':') + 1).trim()]),
  );
}

describe('blkid and dumpe2fs judge the ext2/3/4 reader', () => {
  const cases = [
    { make: 'mkfs.ext4', label: 'DATA', detail: 'ext4' },
    { make: 'mkfs.ext4', label: 'sixteen-chars-ok', detail: 'ext4' },
    { make: 'mkfs.ext4', label: '', detail: 'ext4' },
    { make: 'mkfs.ext3', label: 'OLD3', detail: 'ext3' },
    { make: 'mkfs.ext2', label: 'OLD2', detail: 'ext2' },
  ];
  for (const c of cases) {
    it(`${c.make} -L "${c.label}"`, () => {
      const file = image(`${c.make}-${c.label || 'nolabel'}.img`, 16);
      tool(c.make, ['-q', '-F', ...(c.label ? ['-L', c.label] : []), '-E', 'nodiscard', file]);
      const probe = probeFile(file);
      const judge = blkid(file);
      const dump = dumpe2fs(file);
      expect(probe.filesystem).toBe('ext4');
      expect(probe.detail).toBe(judge.TYPE);
      expect(probe.detail).toBe(c.detail);
      expect(probe.label).toBe(judge.LABEL ?? '');
      expect(probe.label).toBe(dump['Filesystem volume name'] === '<none>' ? '' : dump['Filesystem volume name']);
      expect(probe.uuid).toBe(judge.UUID);
      expect(probe.problem).toBeUndefined();
    });
  }

  it('a flipped label byte: dumpe2fs refuses the checksum, and so does the probe', () => {
    const file = image('corrupt.img', 16);
    tool('mkfs.ext4', ['-q', '-F', '-L', 'DATA', '-E', 'nodiscard', file]);
    const bytes = readFileSync(file);
    bytes[1024 + 0x78] ^= 0x20;
    writeFileSync(file, bytes);
    expect(tool('dumpe2fs', ['-h', file], true)).toContain('Superblock checksum does not match superblock');
    expect(probeFile(file)).toMatchObject({
      filesystem: 'ext4',
      label: '',
      problem: expect.stringMatching(/^Cannot decode ext4 superblock at 0x7fc: checksum 0x[0-9a-f]{8} does not match/),
    });
  });
});

describe('blkid judges the FAT reader', () => {
  for (const [bits, sizeMiB, label, serial] of [
    [32, 40, 'ESP', '1234ABCD'],
    [16, 16, 'BOOT16', '00C0FFEE'],
    [12, 2, 'TINY12', '0BADF00D'],
  ] as const) {
    it(`mkfs.vfat -F ${bits} -n ${label}`, () => {
      const file = image(`fat${bits}.img`, sizeMiB);
      tool('mkfs.vfat', ['-F', String(bits), '-n', label, '-i', serial, file]);
      const judge = blkid(file);
      expect(probeFile(file)).toEqual({ filesystem: judge.TYPE, label: judge.LABEL, uuid: judge.UUID, detail: judge.VERSION });
    });
  }

  it("kiln's own FAT32 writer (the ESP of kiln disk)", () => {
    const file = join(dir, 'kiln-esp.img');
    writeFileSync(
      file,
      encodeFat32({ sizeBytes: 40 * MiB, label: 'ESP', volumeId: 0xcafe0001, files: [{ path: 'EFI/BOOT/BOOTX64.EFI', data: new Uint8Array(1000) }] }),
    );
    const judge = blkid(file);
    expect(probeFile(file)).toEqual({ filesystem: 'vfat', label: 'ESP', uuid: 'CAFE-0001', detail: 'FAT32' });
    expect([judge.TYPE, judge.LABEL, judge.UUID]).toEqual(['vfat', 'ESP', 'CAFE-0001']);
  });

  it('the root directory entry wins over the boot sector label, as in blkid', () => {
    const file = join(dir, 'relabelled.img');
    const bytes = encodeFat32({ sizeBytes: 40 * MiB, label: 'FROMDIR', files: [{ path: 'a.txt', data: new Uint8Array(10) }] });
    bytes.set(new TextEncoder().encode('BOOTSECTOR '), FAT_BPB.volumeLabel32);
    writeFileSync(file, bytes);
    const judge = blkid(file);
    expect([judge.LABEL, judge.LABEL_FATBOOT]).toEqual(['FROMDIR', 'BOOTSECTOR']);
    expect(probeFile(file).label).toBe('FROMDIR');
  });

  it('nothing recognisable: blkid finds nothing, the probe says unknown', () => {
    const file = image('zeros.img', 1);
    expect(blkid(file)).toEqual({});
    expect(probeFile(file).filesystem).toBe('unknown');
  });
});
