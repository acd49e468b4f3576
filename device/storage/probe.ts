/**
 * What filesystem a partition holds, and its LABEL: the device's own small blkid for the two filesystems kiln
 * writes (ext2/3/4 and FAT). Pure over a `read(offset, length)` function, so it runs on the host against bytes.
 */
import { decodeExt4Superblock, hasExt4Magic, EXT4_SUPERBLOCK_OFFSET, EXT4_SUPERBLOCK_SIZE } from '../contract/fs/ext4-superblock.ts';
import { decodeFat32Entry, decodeFatBootSector, findFatLabelEntry, looksLikeFat, type FatBootSector } from './vfat.ts';
import { errorMessage } from '../contract/error-message.ts';

/** Reads `length` bytes at `offset` of the partition; fewer at its end. */
export type ReadAt = (offset: number, length: number) => Uint8Array;

export interface Probe {
  /** The mount(2) filesystem type that reads it; `unknown` for anything else (or nothing). */
  filesystem: 'ext4' | 'vfat' | 'unknown';
  /** Empty when the filesystem has no label. */
  label: string;
  /** ext4: the UUID; FAT: the volume serial ("ABCD-1234"). */
  uuid: string;
  /** What exactly was found: ext2, ext3, ext4, FAT12, FAT16, FAT32. */
  detail: string;
  /** The filesystem was recognised but cannot be trusted (corrupt superblock): it must not be mounted. */
  problem?: string;
  /** ext4 recorded errors: worth a fsck before mounting. */
  hasErrors?: boolean;
}

/** Enough for the FAT boot sector (0) and the ext4 superblock (1024). */
const HEAD_BYTES = EXT4_SUPERBLOCK_OFFSET + EXT4_SUPERBLOCK_SIZE;
/** Bounds the root directory walk for the label entry: it is almost always in the first cluster. */
const MAX_ROOT_CLUSTERS = 16;
const MAX_ROOT_REGION_BYTES = 64 * 1024;

export const UNKNOWN: Probe = { filesystem: 'unknown', label: '', uuid: '', detail: 'no ext4 or FAT signature' };

/**
 * Identifies the filesystem through `read`. Never throws for what is on the disk: a recognised but corrupt
 * filesystem comes back with `problem` set; a read error is the caller's (it names the device).
 * @example probeFilesystem((o, n) => bytes.subarray(o, o + n)) // { filesystem: 'ext4', label: 'DATA', ... }
 */
export function probeFilesystem(read: ReadAt): Probe {
  const head = read(0, HEAD_BYTES);
  if (hasExt4Magic(head)) {
    try {
      const sb = decodeExt4Superblock(head);
      return { filesystem: 'ext4', label: sb.label, uuid: sb.uuid, detail: sb.kind, hasErrors: sb.hasErrors };
    } catch (error) {
      return { filesystem: 'ext4', label: '', uuid: '', detail: 'ext4', problem: errorMessage(error) };
    }
  }
  if (looksLikeFat(head)) {
    let boot: FatBootSector;
    try {
      boot = decodeFatBootSector(head);
    } catch (error) {
      return { filesystem: 'vfat', label: '', uuid: '', detail: 'FAT', problem: errorMessage(error) };
    }
    const label = rootDirectoryLabel(read, boot) ?? boot.label;
    return { filesystem: 'vfat', label, uuid: boot.volumeId, detail: boot.variant };
  }
  return UNKNOWN;
}

/** The root directory's label entry, which blkid (and Windows) prefer to the boot sector copy. */
function rootDirectoryLabel(read: ReadAt, boot: FatBootSector): string | undefined {
  if (boot.root.kind === 'region') {
    return findFatLabelEntry(read(boot.root.offset, Math.min(boot.root.bytes, MAX_ROOT_REGION_BYTES))).label;
  }
  let cluster: number | undefined = boot.root.firstCluster;
  for (let i = 0; i < MAX_ROOT_CLUSTERS && cluster !== undefined; i++) {
    if (cluster < 2 || cluster >= boot.clusterCount + 2) return undefined;
    const found = findFatLabelEntry(read(boot.dataOffset + (cluster - 2) * boot.clusterBytes, boot.clusterBytes));
    if (found.done) return found.label;
    const entry = read(boot.fatOffset + cluster * 4, 4);
    cluster = entry.length === 4 ? decodeFat32Entry(entry) : undefined;
  }
  return undefined;
}
