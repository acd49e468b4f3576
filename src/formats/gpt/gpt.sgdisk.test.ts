// Second judge: GPT fdisk (package gdisk) must accept what encodeGpt writes.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeGpt } from './encode.js';
import { GptPartitionType } from './guid.js';

const MiB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'kiln-gpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sgdisk(...args: string[]): string {
  try {
    return execFileSync('sgdisk', args, { encoding: 'utf8' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('sgdisk not found: install the gdisk package');
    const e = error as { stdout?: string; stderr?: string };
    throw new Error(`sgdisk ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

describe('sgdisk judges encodeGpt', () => {
  const gpt = encodeGpt({
    seed: 'sgdisk',
    partitions: [
      { type: GptPartitionType.efiSystem, name: 'EFI system partition', sizeBytes: 4 * MiB },
      { type: GptPartitionType.linuxFilesystem, name: 'root', sizeBytes: 6 * MiB },
    ],
  });
  const image = join(dir, 'disk.img');
  const disk = new Uint8Array(gpt.diskSizeBytes);
  disk.set(gpt.head, 0);
  disk.set(gpt.tail, gpt.tailOffset);
  writeFileSync(image, disk);

  it('finds no problems', () => {
    const report = sgdisk('-v', image);
    expect(report).toContain('No problems found.');
    // sgdisk also says "No problems found" for a disk whose GPT it could not read at all, or repaired from the backup.
    expect(report).not.toMatch(/creating new GPT|caution|warning|invalid|corrupt|damaged/i);
  });

  it('reads back the partitions, types, names and GUIDs', () => {
    const listing = sgdisk('-p', image);
    expect(listing).toContain(`Disk identifier (GUID): ${gpt.diskGuid}`);
    expect(listing).toMatch(/^\s+1\s+2048\s+10239\s+4\.0 MiB\s+EF00\s+EFI system partition$/m);
    expect(listing).toMatch(/^\s+2\s+10240\s+22527\s+6\.0 MiB\s+8300\s+root$/m);
    const info = sgdisk('-i', '2', image);
    expect(info).toContain(`Partition GUID code: ${GptPartitionType.linuxFilesystem}`);
    expect(info).toContain(`Partition unique GUID: ${gpt.partitions[1].guid}`);
  });
});
