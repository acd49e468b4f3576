import { FAT32_MIN_SIZE_BYTES, clusterBytes, fat32Geometry } from './geometry.js';
import { buildTree, clustersNeeded, type FatFile } from './tree.js';

const MiB = 1024 * 1024;

/**
 * The smallest whole-MiB FAT32 volume that holds `files` with `freeBytes` to spare (cluster slack and
 * directories counted with the cluster size that volume size gets).
 * @example fat32SizeFor([{ path: 'EFI/BOOT/BOOTX64.EFI', data }], 4 << 20)
 */
export function fat32SizeFor(files: readonly FatFile[], freeBytes = 0, hasLabel = true): number {
  const root = buildTree(files, hasLabel);
  const payload = files.reduce((sum, f) => sum + f.data.length, 0);
  let size = Math.ceil(Math.max(FAT32_MIN_SIZE_BYTES, payload + freeBytes) / MiB) * MiB;
  for (;;) {
    const g = fat32Geometry(size);
    const per = clusterBytes(g);
    const needed = clustersNeeded(root, per) + Math.ceil(freeBytes / per);
    if (needed <= g.clusterCount) return size;
    size += Math.max(MiB, Math.ceil(((needed - g.clusterCount) * per) / MiB) * MiB);
  }
}
