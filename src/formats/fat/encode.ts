import { crc32 } from 'node:zlib';
import {
  ATTR,
  BACKUP_BOOT_SECTOR,
  BOOT_CODE,
  BOOT_SECTOR_SIGNATURE,
  BPB,
  DIRENT,
  DIRENT_SIZE,
  DRIVE_NUMBER_HARD_DISK,
  EXTENDED_BOOT_SIGNATURE,
  FAT1_CLEAN,
  FAT_END_OF_CHAIN,
  FAT_ENTRY_SIZE,
  FIRST_CLUSTER,
  FS_TYPE,
  FSINFO,
  FSINFO_LEAD_SIGNATURE,
  FSINFO_SECTOR,
  FSINFO_STRUCT_SIGNATURE,
  FSINFO_TRAIL_SIGNATURE,
  FSINFO_UNKNOWN,
  JUMP,
  LFN,
  LFN_LAST,
  LFN_UNIT_OFFSETS,
  LFN_UNITS_PER_ENTRY,
  MEDIA_FIXED_DISK,
  NO_LABEL,
  OEM_NAME,
  ROOT_CLUSTER,
} from './_constants.js';
import { clusterBytes, clusterOffset, fat32Geometry, formatBytes, type Fat32Geometry } from './geometry.js';
import { lfnChecksum } from './names.js';
import { allocationOrder, buildTree, directoryClusters, fileClusters, type DirNode, type FatFile } from './tree.js';

/** What to put in a FAT32 volume. */
export interface Fat32Options {
  /** Volume size in bytes; a multiple of 512, at least ~32.5 MiB (FAT32's 65525 clusters). */
  sizeBytes: number;
  files: readonly FatFile[];
  /** Volume label, up to 11 characters valid in short names (and spaces); stored upper case. @default none */
  label?: string;
  /** Volume serial number. @default a CRC32 of the label and files, so equal inputs give equal images */
  volumeId?: number;
  /** Creation and modification time of every entry (its UTC fields are stored). @default 1980-01-01 00:00:00 */
  timestamp?: Date;
  /** Sectors on the disk before this volume (its partition's first LBA). @default 0 */
  hiddenSectors?: number;
}

/** A run of bytes at `offset` in the volume; whatever no extent covers is zero. */
export interface FatExtent {
  offset: number;
  bytes: Uint8Array;
}

/** An encoded volume as sorted, non-overlapping extents: file data is referenced, not copied. */
export interface Fat32Image {
  sizeBytes: number;
  geometry: Fat32Geometry;
  /** Clusters used by directories and files. */
  usedClusters: number;
  extents: FatExtent[];
}

/** The FAT timestamp epoch, used when no timestamp is given. */
const DOS_EPOCH = new Date(Date.UTC(1980, 0, 1));
const LABEL_CHARS = /^[A-Z0-9!#$%&'()@^_`{}~ -]{1,11}$/;

/**
 * Encodes a FAT32 volume holding `files` as extents, so a caller can write them at an offset of a larger
 * image without building the whole volume in memory. Directories get short names plus VFAT long names
 * where a name is not an upper-case 8.3 name.
 * Throws `RangeError` when the size is too small for FAT32 or for the files, `TypeError` for bad names.
 * @example
 * const image = encodeFat32Extents({ sizeBytes: 64 << 20, label: 'ESP', files: [{ path: 'EFI/BOOT/BOOTX64.EFI', data }] });
 * for (const { offset, bytes } of image.extents) await fh.write(bytes, 0, bytes.length, partitionOffset + offset);
 */
export function encodeFat32Extents(options: Fat32Options): Fat32Image {
  const geometry = fat32Geometry(options.sizeBytes);
  const labelField = options.label === undefined ? undefined : labelFieldOf(options.label);
  const stamp = dosTimestamp(options.timestamp ?? DOS_EPOCH);
  const hiddenSectors = options.hiddenSectors ?? 0;
  if (!Number.isInteger(hiddenSectors) || hiddenSectors < 0 || hiddenSectors > 0xffff_ffff) {
    throw new RangeError(`FAT32 hidden sector count must fit 32 bits, not ${hiddenSectors}`);
  }
  const root = buildTree(options.files, labelField !== undefined);

  // Hand out clusters: all directories first (one contiguous area), then each file contiguously.
  const bytesPerCluster = clusterBytes(geometry);
  const { dirs, files } = allocationOrder(root);
  const chains: [first: number, count: number][] = [];
  let next = FIRST_CLUSTER;
  for (const node of [...dirs, ...files]) {
    const count = node.kind === 'dir' ? directoryClusters(node.entryCount, bytesPerCluster) : fileClusters(node.data.length, bytesPerCluster);
    node.cluster = count === 0 ? 0 : next;
    if (count > 0) chains.push([next, count]);
    next += count;
  }
  const usedClusters = next - FIRST_CLUSTER;
  if (usedClusters > geometry.clusterCount) {
    const totalBytes = options.files.reduce((sum, f) => sum + f.data.length, 0);
    throw new RangeError(
      `${options.files.length} files (${totalBytes} bytes) need ${usedClusters} clusters of ${bytesPerCluster} bytes; ` +
        `a ${formatBytes(options.sizeBytes)} FAT32 volume has ${geometry.clusterCount}`,
    );
  }

  const fat = encodeFat(geometry, chains);
  const dirClusters = dirs.reduce((sum, d) => sum + directoryClusters(d.entryCount, bytesPerCluster), 0);
  const directories = new Uint8Array(dirClusters * bytesPerCluster);
  const parents = new Map<DirNode, DirNode>();
  for (const dir of dirs) for (const child of dir.children) if (child.kind === 'dir') parents.set(child, dir);
  for (const dir of dirs) {
    const at = (dir.cluster - FIRST_CLUSTER) * bytesPerCluster;
    encodeDirectory(directories.subarray(at), dir, parents.get(dir), labelField, stamp);
  }

  const volumeId = options.volumeId ?? defaultVolumeId(options);
  const reserved = encodeReservedArea(geometry, {
    volumeId,
    labelField: labelField ?? NO_LABEL,
    hiddenSectors,
    freeClusters: geometry.clusterCount - usedClusters,
    nextFree: usedClusters < geometry.clusterCount ? next : FSINFO_UNKNOWN,
  });

  const fatOffset = (copy: number): number => (geometry.reservedSectors + copy * geometry.sectorsPerFat) * geometry.bytesPerSector;
  const extents: FatExtent[] = [{ offset: 0, bytes: reserved }];
  for (let copy = 0; copy < geometry.fatCount; copy++) extents.push({ offset: fatOffset(copy), bytes: fat });
  extents.push({ offset: clusterOffset(geometry, ROOT_CLUSTER), bytes: directories });
  for (const file of files) {
    if (file.data.length > 0) extents.push({ offset: clusterOffset(geometry, file.cluster), bytes: file.data });
  }
  return { sizeBytes: options.sizeBytes, geometry, usedClusters, extents };
}

/**
 * Encodes a whole FAT32 volume into one buffer (see {@link encodeFat32Extents} for the options).
 * @example encodeFat32({ sizeBytes: 40 << 20, label: 'ESP', files: [{ path: 'EFI/BOOT/BOOTX64.EFI', data }] })
 */
export function encodeFat32(options: Fat32Options): Uint8Array {
  const image = encodeFat32Extents(options);
  const volume = new Uint8Array(image.sizeBytes);
  for (const { offset, bytes } of image.extents) volume.set(bytes, offset);
  return volume;
}

function encodeFat(g: Fat32Geometry, chains: readonly [number, number][]): Uint8Array {
  const fat = new Uint8Array(g.sectorsPerFat * g.bytesPerSector);
  const view = new DataView(fat.buffer);
  view.setUint32(0, 0x0fff_ff00 | MEDIA_FIXED_DISK, true); // FAT[0] repeats the media byte
  view.setUint32(FAT_ENTRY_SIZE, FAT1_CLEAN, true);
  for (const [first, count] of chains) {
    for (let c = first; c < first + count - 1; c++) view.setUint32(c * FAT_ENTRY_SIZE, c + 1, true);
    view.setUint32((first + count - 1) * FAT_ENTRY_SIZE, FAT_END_OF_CHAIN, true);
  }
  return fat;
}

interface DosTimestamp {
  date: number;
  time: number;
}

function encodeDirectory(out: Uint8Array, dir: DirNode, parent: DirNode | undefined, labelField: string | undefined, stamp: DosTimestamp): void {
  let at = 0;
  const short = (field: string, attributes: number, cluster: number, size: number): void => {
    writeShortEntry(out, at, field, attributes, cluster, size, stamp);
    at += DIRENT_SIZE;
  };
  if (parent === undefined) {
    if (labelField !== undefined) short(labelField, ATTR.volumeId, 0, 0);
  } else {
    short('.'.padEnd(11, ' '), ATTR.directory, dir.cluster, 0);
    // ".." of a directory in the root points at cluster 0, not the root's real cluster (FAT spec).
    short('..'.padEnd(11, ' '), ATTR.directory, parent.cluster === ROOT_CLUSTER ? 0 : parent.cluster, 0);
  }
  for (const child of dir.children) {
    if (child.needsLongName) at = writeLongNameEntries(out, at, child.name, child.shortName);
    if (child.kind === 'dir') short(child.shortName, ATTR.directory, child.cluster, 0);
    else short(child.shortName, ATTR.archive, child.cluster, child.data.length);
  }
}

function writeShortEntry(out: Uint8Array, at: number, field: string, attributes: number, cluster: number, size: number, stamp: DosTimestamp): void {
  const view = new DataView(out.buffer, out.byteOffset + at, DIRENT_SIZE);
  for (let i = 0; i < 11; i++) out[at + DIRENT.name + i] = field.charCodeAt(i);
  view.setUint8(DIRENT.attributes, attributes);
  if (attributes !== ATTR.volumeId) {
    view.setUint16(DIRENT.createTime, stamp.time, true);
    view.setUint16(DIRENT.createDate, stamp.date, true);
    view.setUint16(DIRENT.accessDate, stamp.date, true);
  }
  view.setUint16(DIRENT.clusterHigh, cluster >>> 16, true);
  view.setUint16(DIRENT.writeTime, stamp.time, true);
  view.setUint16(DIRENT.writeDate, stamp.date, true);
  view.setUint16(DIRENT.clusterLow, cluster & 0xffff, true);
  view.setUint32(DIRENT.size, size, true);
}

/** Writes the long-name entries for `name` (last part first) and returns the offset after them. */
function writeLongNameEntries(out: Uint8Array, at: number, name: string, shortField: string): number {
  const checksum = lfnChecksum(Uint8Array.from(shortField, (c) => c.charCodeAt(0)));
  const parts = Math.ceil(name.length / LFN_UNITS_PER_ENTRY);
  for (let part = parts; part >= 1; part--) {
    const view = new DataView(out.buffer, out.byteOffset + at, DIRENT_SIZE);
    view.setUint8(LFN.order, part | (part === parts ? LFN_LAST : 0));
    view.setUint8(LFN.attributes, ATTR.longName);
    view.setUint8(LFN.checksum, checksum);
    LFN_UNIT_OFFSETS.forEach((offset, i) => {
      const index = (part - 1) * LFN_UNITS_PER_ENTRY + i;
      // The name is NUL terminated if it does not fill the entry, then padded with 0xFFFF.
      const unit = index < name.length ? name.charCodeAt(index) : index === name.length ? 0x0000 : 0xffff;
      view.setUint16(offset, unit, true);
    });
    at += DIRENT_SIZE;
  }
  return at;
}

interface BootFields {
  volumeId: number;
  labelField: string;
  hiddenSectors: number;
  freeClusters: number;
  nextFree: number;
}

/** The reserved sectors: boot sector and FSInfo, and their backups at sectors 6 and 7. */
function encodeReservedArea(g: Fat32Geometry, f: BootFields): Uint8Array {
  const area = new Uint8Array(g.reservedSectors * g.bytesPerSector);
  const boot = area.subarray(0, g.bytesPerSector);
  const view = new DataView(area.buffer);
  const ascii = (offset: number, text: string): void => {
    for (let i = 0; i < text.length; i++) boot[offset + i] = text.charCodeAt(i);
  };
  boot.set(JUMP, BPB.jump);
  ascii(BPB.oemName, OEM_NAME);
  view.setUint16(BPB.bytesPerSector, g.bytesPerSector, true);
  view.setUint8(BPB.sectorsPerCluster, g.sectorsPerCluster);
  view.setUint16(BPB.reservedSectors, g.reservedSectors, true);
  view.setUint8(BPB.fatCount, g.fatCount);
  view.setUint8(BPB.media, MEDIA_FIXED_DISK);
  view.setUint16(BPB.sectorsPerTrack, g.sectorsPerTrack, true);
  view.setUint16(BPB.heads, g.heads, true);
  view.setUint32(BPB.hiddenSectors, f.hiddenSectors, true);
  view.setUint32(BPB.totalSectors32, g.totalSectors, true);
  view.setUint32(BPB.sectorsPerFat32, g.sectorsPerFat, true);
  view.setUint32(BPB.rootCluster, ROOT_CLUSTER, true);
  view.setUint16(BPB.fsInfoSector, FSINFO_SECTOR, true);
  view.setUint16(BPB.backupBootSector, BACKUP_BOOT_SECTOR, true);
  view.setUint8(BPB.driveNumber, DRIVE_NUMBER_HARD_DISK);
  view.setUint8(BPB.bootSignature, EXTENDED_BOOT_SIGNATURE);
  view.setUint32(BPB.volumeId, f.volumeId >>> 0, true);
  ascii(BPB.volumeLabel, f.labelField);
  ascii(BPB.fsType, FS_TYPE);
  boot.set(BOOT_CODE, BPB.bootCode);
  view.setUint16(BPB.signature, BOOT_SECTOR_SIGNATURE, true);

  const fsInfo = FSINFO_SECTOR * g.bytesPerSector;
  view.setUint32(fsInfo + FSINFO.leadSignature, FSINFO_LEAD_SIGNATURE, true);
  view.setUint32(fsInfo + FSINFO.structSignature, FSINFO_STRUCT_SIGNATURE, true);
  view.setUint32(fsInfo + FSINFO.freeCount, f.freeClusters, true);
  view.setUint32(fsInfo + FSINFO.nextFree, f.nextFree, true);
  view.setUint32(fsInfo + FSINFO.trailSignature, FSINFO_TRAIL_SIGNATURE, true);

  area.copyWithin(BACKUP_BOOT_SECTOR * g.bytesPerSector, 0, 2 * g.bytesPerSector);
  return area;
}

/** The 11-byte label field for `label`: upper case, space padded. */
function labelFieldOf(label: string): string {
  const upper = label.toUpperCase();
  if (!LABEL_CHARS.test(upper) || upper.startsWith(' ')) {
    throw new TypeError(`FAT volume label "${label}" is not valid: use 1 to 11 letters, digits, spaces (not first) or !#$%&'()-@^_\`{}~`);
  }
  return upper.padEnd(11, ' ');
}

/** FAT's packed local date and time; kiln stores the UTC fields so builds do not depend on the time zone. */
export function dosTimestamp(when: Date): DosTimestamp {
  const year = when.getUTCFullYear();
  if (Number.isNaN(year) || year < 1980 || year > 2107) {
    throw new RangeError(`FAT timestamps cover 1980 to 2107, not ${Number.isNaN(year) ? 'an invalid date' : year}`);
  }
  return {
    date: ((year - 1980) << 9) | ((when.getUTCMonth() + 1) << 5) | when.getUTCDate(),
    time: (when.getUTCHours() << 11) | (when.getUTCMinutes() << 5) | (when.getUTCSeconds() >> 1),
  };
}

function defaultVolumeId(options: Fat32Options): number {
  let crc = crc32(options.label ?? '');
  // Sorted like the directories, so the order files were listed in does not change the image.
  const files = [...options.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const file of files) crc = crc32(file.data, crc32(`\0${file.path}\0`, crc));
  return crc;
}
