import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Partition } from '../../device/contract/config/storage-schema.ts';
import { cacheRoot } from '../inputs/cache.js';
import { findKernel, selectModules } from './kernel-modules.js';
import { storageModules } from './storage-modules.js';

const part = (p: Partial<Partition>): Partition => ({ label: 'X', filesystem: 'ext4', size: '1G', esp: false, options: [], required: true, fsck: false, ...p });

describe('storageModules', () => {
  it('adds nothing without storage', () => {
    expect(storageModules(undefined)).toEqual([]);
    expect(storageModules({ waitSeconds: 10, partitions: [] })).toEqual([]);
  });

  it('ships the disk drivers, and ext4 with crc32c for a mounted ext4 partition', () => {
    expect(
      storageModules({ waitSeconds: 10, partitions: [part({ label: 'ESP', filesystem: 'vfat', esp: true }), part({ label: 'DATA', mount: '/data' })] }),
    ).toEqual(['virtio_pci', 'virtio_blk', 'nvme', 'ahci', 'sd_mod', 'ext4', 'crc32c_generic']);
  });

  it("ships vfat with Debian's default code page and I/O charset, or the ones the options name", () => {
    expect(storageModules({ waitSeconds: 10, partitions: [part({ filesystem: 'vfat', mount: '/boot' })] }).slice(5)).toEqual([
      'vfat',
      'nls_cp437',
      'nls_ascii',
    ]);
    const options = ['ro', 'codepage=850,iocharset=iso8859-1'];
    expect(storageModules({ waitSeconds: 10, partitions: [part({ filesystem: 'vfat', mount: '/boot', options })] }).slice(5)).toEqual([
      'vfat',
      'nls_cp850',
      'nls_iso8859-1',
    ]);
  });
});

/** Debian's RT kernel as kiln's cache unpacked it, when a build has run here; the tests below need it. */
function cachedKernelTree(): string | undefined {
  const trees = path.join(cacheRoot(), 'trees');
  if (!existsSync(trees)) return undefined;
  for (const tree of readdirSync(trees)) {
    const boot = path.join(trees, tree, 'boot');
    if (existsSync(boot) && readdirSync(boot).some((f) => f.startsWith('vmlinuz-') && f.includes('-rt-'))) return path.join(trees, tree);
  }
  return undefined;
}
const tree = cachedKernelTree();

describe.skipIf(tree === undefined)('storageModules against the cached Debian RT kernel', () => {
  it('every module exists, and dependencies written with "-" (crc-t10dif) load before their users', async () => {
    const kernel = await findKernel(tree!, 'linux-image-rt-amd64');
    const storage = {
      waitSeconds: 10,
      partitions: [part({ label: 'ESP', filesystem: 'vfat', esp: true, mount: '/boot' }), part({ label: 'DATA', mount: '/data' })],
    };
    const shipped = await selectModules(kernel, storageModules(storage), 'linux-image-rt-amd64');
    const order = shipped.order.map((m) => m.name);
    const before = (a: string, b: string) => expect(order.indexOf(a), `${a} before ${b} in ${order.join(' ')}`).toBeLessThan(order.indexOf(b));
    for (const name of ['virtio_blk', 'nvme', 'ahci', 'sd_mod', 'ext4', 'crc32c_generic', 'vfat', 'nls_cp437', 'nls_ascii']) expect(order).toContain(name);
    before('crc_t10dif', 't10_pi');
    before('crc64_rocksoft', 't10_pi');
    before('t10_pi', 'sd_mod');
    before('nvme_core', 'nvme');
    expect(shipped.modulesDep).toMatch(/t10-pi\.ko: .*crc-t10dif\.ko/);
  });
});
