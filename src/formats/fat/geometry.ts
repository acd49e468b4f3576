import { FAT_COUNT, FAT_ENTRY_SIZE, FIRST_CLUSTER, MAX_CLUSTERS_FAT32, MIN_CLUSTERS_FAT32, RESERVED_SECTORS, SECTOR_SIZE } from './_constants.js';

const MiB = 1024 * 1024;
const MAX_SECTORS_PER_CLUSTER = 128;
/** mkfs.fat's geometry for the BPB's (meaningless, but checked by some tools) CHS fields. */
const SMALL_VOLUME_BYTES = 512 * MiB;

/** Where everything lives in a FAT32 volume, in sectors. */
export interface Fat32Geometry {
  bytesPerSector: number;
  sectorsPerCluster: number;
  reservedSectors: number;
  fatCount: number;
  sectorsPerFat: number;
  totalSectors: number;
  /** Data clusters, numbered from 2. */
  clusterCount: number;
  sectorsPerTrack: number;
  heads: number;
}

/** Bytes per cluster. */
export function clusterBytes(g: Fat32Geometry): number {
  return g.sectorsPerCluster * g.bytesPerSector;
}

/** Byte offset of cluster `cluster` (≥ 2) from the start of the volume. */
export function clusterOffset(g: Fat32Geometry, cluster: number): number {
  const dataStart = g.reservedSectors + g.fatCount * g.sectorsPerFat;
  return (dataStart + (cluster - FIRST_CLUSTER) * g.sectorsPerCluster) * g.bytesPerSector;
}

/**
 * The FAT32 geometry mkfs.fat 4.2 picks for a volume of `sizeBytes` (as `mkfs.fat -F 32`): Microsoft's cluster
 * sizes (512 B up to 260 MiB, 4 KiB to 8 GiB, 8 KiB to 16 GiB, 16 KiB to 32 GiB, 32 KiB above), 32 reserved
 * sectors, two FATs, with the FATs and the data area aligned to the cluster size.
 * Throws `RangeError` when the volume is too small to have the 65525 clusters FAT32 needs.
 * @example fat32Geometry(40 * 1024 * 1024) // { sectorsPerCluster: 1, sectorsPerFat: 630, clusterCount: 80628, … }
 */
export function fat32Geometry(sizeBytes: number): Fat32Geometry {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes % SECTOR_SIZE !== 0) {
    throw new RangeError(`FAT32 volume size must be a positive multiple of ${SECTOR_SIZE}, not ${sizeBytes}`);
  }
  const totalSectors = sizeBytes / SECTOR_SIZE;
  if (totalSectors > 0xffff_ffff) throw new RangeError(`FAT32 volume of ${sizeBytes} bytes has more than 2^32 sectors`);
  const sizeMiB = Math.floor(sizeBytes / MiB);
  let sectorsPerCluster = sizeMiB > 32 * 1024 ? 64 : sizeMiB > 16 * 1024 ? 32 : sizeMiB > 8 * 1024 ? 16 : sizeMiB > 260 ? 8 : 1;

  for (; sectorsPerCluster <= MAX_SECTORS_PER_CLUSTER; sectorsPerCluster *= 2) {
    const align = (sectors: number): number => Math.ceil(sectors / sectorsPerCluster) * sectorsPerCluster;
    const reservedSectors = align(RESERVED_SECTORS);
    const fatAndData = totalSectors - reservedSectors;
    // First guess counts each cluster's FAT entries with it; then shrink to what the aligned FATs leave.
    const guess = Math.floor((fatAndData * SECTOR_SIZE + FAT_COUNT * 8) / (sectorsPerCluster * SECTOR_SIZE + FAT_COUNT * FAT_ENTRY_SIZE));
    const sectorsPerFat = align(Math.ceil(((guess + FIRST_CLUSTER) * FAT_ENTRY_SIZE) / SECTOR_SIZE));
    const clusterCount = Math.floor((fatAndData - FAT_COUNT * sectorsPerFat) / sectorsPerCluster);
    const fatEntries = (sectorsPerFat * SECTOR_SIZE) / FAT_ENTRY_SIZE;
    if (clusterCount + FIRST_CLUSTER > fatEntries || clusterCount > MAX_CLUSTERS_FAT32) continue;
    if (clusterCount < MIN_CLUSTERS_FAT32) {
      throw new RangeError(
        `A ${formatBytes(sizeBytes)} volume is too small for FAT32: it has ${Math.max(clusterCount, 0)} clusters of ` +
          `${sectorsPerCluster * SECTOR_SIZE} bytes, FAT32 needs at least ${MIN_CLUSTERS_FAT32} ` +
          `(a volume of at least ${FAT32_MIN_SIZE_BYTES} bytes)`,
      );
    }
    const small = sizeBytes < SMALL_VOLUME_BYTES;
    return {
      bytesPerSector: SECTOR_SIZE,
      sectorsPerCluster,
      reservedSectors,
      fatCount: FAT_COUNT,
      sectorsPerFat,
      totalSectors,
      clusterCount,
      sectorsPerTrack: small ? 32 : 63,
      heads: small ? 64 : 255,
    };
  }
  throw new RangeError(`FAT32 volume of ${sizeBytes} bytes needs clusters larger than 64 KiB`);
}

/**
 * The smallest FAT32 volume, in bytes: 65525 clusters of 512 bytes plus 32 reserved sectors and two FATs
 * (512 sectors each) — 66581 sectors, just over 32.5 MiB.
 */
export const FAT32_MIN_SIZE_BYTES =
  (RESERVED_SECTORS + FAT_COUNT * Math.ceil(((MIN_CLUSTERS_FAT32 + FIRST_CLUSTER) * FAT_ENTRY_SIZE) / SECTOR_SIZE) + MIN_CLUSTERS_FAT32) * SECTOR_SIZE;

/** "33 MiB" for whole MiB, bytes otherwise. */
export function formatBytes(bytes: number): string {
  return bytes % MiB === 0 ? `${bytes / MiB} MiB` : `${bytes}-byte`;
}
