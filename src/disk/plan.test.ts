import { describe, expect, it } from 'vitest';
import type { Partition, Storage } from '../../device/contract/config/storage-schema.ts';
import { KilnError } from '../util/errors.js';
import { DEFAULT_STORAGE, espLabel, planDisk, partitionWhere, storageOf } from './plan.js';

const MiB = 1024 * 1024;
const part = (p: Partial<Partition> & Pick<Partition, 'label' | 'size'>): Partition => ({
  filesystem: 'ext4',
  esp: false,
  options: [],
  required: true,
  fsck: false,
  ...p,
});
const ESP = part({ label: 'ESP', filesystem: 'vfat', size: '64M', esp: true });
const storage = (...partitions: Partition[]): Storage => ({ waitSeconds: 10, partitions });
const layout = (s: Storage, sizeBytes?: number) =>
  planDisk(s, { configName: 'gw.yml', sizeBytes }).partitions.map((p) => [p.partition.label, p.offsetBytes / MiB, p.sizeBytes / MiB]);

function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof KilnError) return `${error.code}: ${error.message}${error.hint ? ` | ${error.hint}` : ''}`;
    throw error;
  }
  throw new Error('expected a KilnError');
}

describe('planDisk', () => {
  it('places partitions in order on 1 MiB boundaries; "rest" ends on the last whole MiB before the backup GPT', () => {
    const s = storage(ESP, part({ label: 'DATA', size: 'rest' }));
    expect(layout(s, 1024 * MiB)).toEqual([
      ['ESP', 1, 64],
      ['DATA', 65, 958],
    ]);
    expect(planDisk(s, { configName: 'gw.yml', sizeBytes: 1024 * MiB }).diskSizeBytes).toBe(1024 * MiB);
  });

  it('rounds sizes up to whole MiB', () => {
    expect(layout(storage(ESP, part({ label: 'A', size: '1.5M' }), part({ label: 'B', size: '2049K' })))).toEqual([
      ['ESP', 1, 64],
      ['A', 65, 2],
      ['B', 67, 3],
    ]);
  });

  it('without --size: 1 GiB with a "rest" partition, else just enough', () => {
    expect(planDisk(storage(ESP, part({ label: 'D', size: 'rest' })), { configName: 'x' }).diskSizeBytes).toBe(1024 * MiB);
    expect(planDisk(storage(ESP, part({ label: 'D', size: '100M' })), { configName: 'x' }).diskSizeBytes).toBe(166 * MiB);
    // The rest keeps at least 256 MiB when the fixed partitions are big.
    expect(planDisk(storage(ESP, part({ label: 'B', size: '900M' }), part({ label: 'D', size: 'rest' })), { configName: 'x' }).diskSizeBytes).toBe(1222 * MiB);
    expect(layout(DEFAULT_STORAGE)).toEqual([['ESP', 1, 64]]);
  });

  it('a table that does not fit: what it needs and what it got', () => {
    expect(
      failure(() => planDisk(storage(ESP, part({ label: 'DATA', size: '100M' })), { configName: 'gw.yml', sizeBytes: 120 * MiB, sizeSource: '--size 120M' })),
    ).toBe(
      'DISK_LAYOUT: gw.yml: storage.partitions do not fit the disk: ESP 64 MiB + DATA 100 MiB end at 165 MiB, past the end of the 120 MiB disk (--size 120M) and its backup GPT' +
        ' | Give a disk of at least 166 MiB (--size 166M), or make the partitions smaller.',
    );
    expect(failure(() => planDisk(storage(ESP, part({ label: 'DATA', size: 'rest' })), { configName: 'gw.yml', sizeBytes: 66 * MiB }))).toBe(
      'DISK_LAYOUT: gw.yml: storage.partitions[1].size (DATA): "rest" of --size (66 MiB) leaves 0 bytes, but an ext4 partition needs at least 2 MiB | Give a disk of at least 68 MiB.',
    );
  });

  it('no ESP, no partitions, rest not last: each named', () => {
    expect(failure(() => planDisk(storage(part({ label: 'DATA', size: 'rest' })), { configName: 'gw.yml' }))).toMatch(
      /^DISK_LAYOUT: gw.yml: storage.partitions has no EFI System Partition \(esp: true\), so the disk could not boot \| Add one/,
    );
    expect(failure(() => planDisk(storage(), { configName: 'gw.yml' }))).toMatch(/^DISK_LAYOUT: gw.yml: storage.partitions is empty/);
    expect(failure(() => planDisk(storage(ESP, part({ label: 'A', size: 'rest' }), part({ label: 'B', size: '1M' })), { configName: 'gw.yml' }))).toBe(
      'DISK_LAYOUT: gw.yml: storage.partitions[1].size (A): "rest" is for the last partition only',
    );
  });

  it("refuses a FAT partition below FAT32's minimum and a size that is no size", () => {
    expect(failure(() => planDisk(storage({ ...ESP, size: '20M' }), { configName: 'gw.yml' }))).toBe(
      'DISK_LAYOUT: gw.yml: storage.partitions[0].size (ESP): 20 MiB is too small for vfat: at least 33 MiB (kiln writes FAT32, which needs 65525 clusters)',
    );
    expect(failure(() => planDisk(storage({ ...ESP, size: 'lots' }), { configName: 'gw.yml' }))).toBe(
      'DISK_LAYOUT: gw.yml: storage.partitions[0].size (ESP): "lots" is not a size like "64M" or "1G"',
    );
    expect(failure(() => planDisk(storage(ESP), { configName: 'gw.yml', sizeBytes: 1000 }))).toBe(
      'DISK_LAYOUT: --size: 1000 bytes is not a whole number of 512-byte sectors',
    );
  });

  it('names partitions and keys for messages', () => {
    expect(partitionWhere({ configName: 'gw.yml', index: 1, partition: part({ label: 'DATA', size: 'rest' }) }, 'content')).toBe(
      'gw.yml: storage.partitions[1].content (DATA)',
    );
  });

  it('without storage: a 64 MiB ESP for one architecture, room for every UKI and, with layout: source, for each Node', () => {
    const esp = (c: Parameters<typeof storageOf>[0]) => storageOf(c).partitions.map((p) => [p.label, p.size, p.esp]);
    expect(esp({ layout: 'initramfs', arch: 'x86_64' })).toEqual([['ESP', '64M', true]]);
    expect(esp({ layout: 'initramfs', arch: ['x86_64', 'aarch64'] })).toEqual([['ESP', '192M', true]]);
    expect(esp({ layout: 'source', arch: 'aarch64' })).toEqual([['ESP', '192M', true]]);
    expect(esp({ layout: 'source', arch: ['x86_64', 'aarch64'] })).toEqual([['ESP', '352M', true]]);
    const own = storage(part({ label: 'boot', filesystem: 'vfat', size: '512M', esp: true }), part({ label: 'DATA', size: 'rest' }));
    expect(storageOf({ storage: own, layout: 'source', arch: 'x86_64' })).toBe(own);
    // The first stage looks for the label kiln disk writes: the ESP's, in upper case.
    expect(espLabel({ storage: own, layout: 'source', arch: 'x86_64' })).toBe('BOOT');
    expect(espLabel({ layout: 'source', arch: 'x86_64' })).toBe('ESP');
  });
});
