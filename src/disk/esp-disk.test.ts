import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeFat32 } from '../formats/fat/index.js';
import { GptPartitionType, decodeGpt } from '../formats/gpt/index.js';
import { KilnError } from '../util/errors.js';
import { layoutEspDisk, writeEspDisk } from './esp-disk.js';

const MiB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'kiln-disk-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PACKAGES: Record<string, string> = { sgdisk: 'gdisk', 'fsck.fat': 'dosfstools', mdir: 'mtools', mcopy: 'mtools' };
function judge(tool: string, args: string[]): Buffer {
  try {
    return execFileSync(tool, args, { env: { ...process.env, MTOOLS_SKIP_CHECK: '1' }, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${tool} not found: install the ${PACKAGES[tool]} package`);
    const e = error as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`${tool} ${args.join(' ')} failed:\n${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`);
  }
}

const uki = Uint8Array.from({ length: 3 * MiB + 123 }, (_, i) => (i * 7919) >>> 5);
const files = [
  { path: 'EFI/BOOT/BOOTX64.EFI', data: uki },
  { path: 'loader/entries/kiln-1.0.conf', data: new TextEncoder().encode('title kiln\n') },
];

describe('writeEspDisk', () => {
  const image = join(dir, 'disk.img');

  it('writes a GPT disk with one FAT32 ESP at 1 MiB holding the files', async () => {
    await writeEspDisk(image, files);
    const disk = new Uint8Array(readFileSync(image));
    // 3 MiB of files + 1 MiB free is far below FAT32's minimum: a 33 MiB ESP, 1 MiB before it, 1 MiB after.
    expect(disk.length).toBe(35 * MiB);
    const gpt = decodeGpt(disk);
    expect(gpt.partitions).toHaveLength(1);
    expect(gpt.partitions[0]).toMatchObject({ type: GptPartitionType.efiSystem, name: 'EFI System Partition', offsetBytes: MiB, sizeBytes: 33 * MiB });
    const volume = decodeFat32(disk.subarray(MiB, 34 * MiB));
    expect(volume.label).toBe('ESP');
    expect(volume.hiddenSectors).toBe(2048);
    const boot = volume.entries.find((e) => e.path === 'EFI/BOOT/BOOTX64.EFI');
    expect(boot && Buffer.compare(boot.data, uki)).toBe(0);
    expect(readdirSync(dir)).toEqual(['disk.img']); // no temporary file left behind
  });

  it('is accepted by sgdisk, fsck.fat and mtools', async () => {
    await writeEspDisk(image, files);
    const report = judge('sgdisk', ['-v', image]).toString();
    expect(report).toContain('No problems found.');
    expect(report).not.toMatch(/creating new GPT|caution|warning|invalid|corrupt|damaged/i);
    expect(judge('sgdisk', ['-p', image]).toString()).toMatch(/^\s+1\s+2048\s+69631\s+33\.0 MiB\s+EF00\s+EFI System Partition$/m);

    const esp = join(dir, 'esp.img');
    judge('dd', [`if=${image}`, `of=${esp}`, 'bs=1M', 'skip=1', 'count=33', 'status=none']);
    const fsck = judge('fsck.fat', ['-n', esp]).toString();
    // 2 files + 4 directories + the label; 6145 clusters of BOOTX64.EFI, 1 of kiln-1.0.conf, 5 of directories
    expect(fsck).toMatch(/esp\.img: 7 files, 6151\/66512 clusters\n$/);
    rmSync(esp);

    const at = `${image}@@${MiB}`;
    expect(Buffer.compare(judge('mcopy', ['-n', '-i', at, '::EFI/BOOT/BOOTX64.EFI', '-']), uki)).toBe(0);
    expect(judge('mdir', ['-i', at, '::loader/entries']).toString()).toMatch(/^KILN-1~1 CON\s+11 1980-01-01\s+0:00\s+kiln-1\.0\.conf$/m);
  });

  it('is reproducible: the same files give the same bytes', async () => {
    const again = join(dir, 'again.img');
    await writeEspDisk(image, files);
    await writeEspDisk(again, [...files].reverse());
    expect(Buffer.compare(readFileSync(image), readFileSync(again))).toBe(0);
    rmSync(again);
  });

  it('sizes a default disk for large files and fills a given size', () => {
    const big = [{ path: 'EFI/BOOT/BOOTX64.EFI', data: new Uint8Array(40 * MiB) }];
    // 40 MiB + 4 MiB free in 512-byte clusters, plus the FATs, rounds up to a 45 MiB ESP.
    expect(layoutEspDisk(big).diskSizeBytes).toBe(47 * MiB);
    const sized = layoutEspDisk(big, { sizeBytes: 64 * MiB });
    expect(sized.diskSizeBytes).toBe(64 * MiB);
    expect(sized.partitions[0]!.sizeBytes).toBe(62 * MiB); // what the GPT leaves after 1 MiB alignment, in whole MiB
  });

  it('says how big the disk must be when it is too small', async () => {
    const promise = writeEspDisk(join(dir, 'small.img'), files, { sizeBytes: 20 * MiB });
    await expect(promise).rejects.toThrow(KilnError);
    await expect(promise).rejects.toThrow(
      'A 20 MiB disk is too small for 2 file(s) of 3.0 MiB: the FAT32 ESP needs 33 MiB (FAT32 alone needs 32.5 MiB), the disk at least 35 MiB',
    );
    expect(existsSync(join(dir, 'small.img'))).toBe(false);
  });

  it('leaves neither a partial image nor a temporary file when writing fails', async () => {
    const target = join(dir, 'occupied');
    mkdirSync(join(target, 'child'), { recursive: true }); // renaming a file over a non-empty directory fails
    await expect(writeEspDisk(target, files)).rejects.toThrow(`${target}: cannot write the disk image (EISDIR)`);
    expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    rmSync(target, { recursive: true });
  });

  it('keeps the old image when the new one cannot be made', async () => {
    writeFileSync(image, 'old');
    await expect(writeEspDisk(image, [{ path: 'bad:name', data: new Uint8Array(1) }])).rejects.toThrow(TypeError);
    expect(readFileSync(image, 'utf8')).toBe('old');
  });
});
