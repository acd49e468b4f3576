/**
 * FAT12/16/32 volumes, read just far enough to find them by LABEL: the boot sector's BIOS parameter block and
 * the volume-label entry of the root directory (what Windows and mlabel change, and what blkid prefers).
 * Field offsets are from Microsoft's FAT specification (section 3).
 */
import { DecodeError } from '../contract/decode-error.ts';

/** Boot sector fields, relative to the volume's start. */
export const FAT_BPB = {
  jump: 0x0, // EB xx 90 or E9 xx xx (3) @0x0
  bytesPerSector: 0xb, // 512, 1024, 2048 or 4096 (2) @0xb
  sectorsPerCluster: 0xd, // a power of two, 1-128 (1) @0xd
  reservedSectors: 0xe, // at least 1 (2) @0xe
  fatCount: 0x10, // (1) @0x10
  rootEntries: 0x11, // 0 on FAT32 (2) @0x11
  totalSectors16: 0x13, // 0 when it does not fit (2) @0x13
  media: 0x15, // 0xF0 or 0xF8-0xFF (1) @0x15
  sectorsPerFat16: 0x16, // 0 on FAT32: the layout switch (2) @0x16
  totalSectors32: 0x20, // (4) @0x20
  // FAT12/16 extended BPB
  bootSignature16: 0x26, // 0x29: serial, label and type follow (1) @0x26
  volumeId16: 0x27, // (4) @0x27
  volumeLabel16: 0x2b, // (11) @0x2b
  fsType16: 0x36, // "FAT12   " / "FAT16   " (8) @0x36
  // FAT32 extended BPB
  sectorsPerFat32: 0x24, // (4) @0x24
  rootCluster: 0x2c, // (4) @0x2c
  bootSignature32: 0x42, // 0x29 (1) @0x42
  volumeId32: 0x43, // (4) @0x43
  volumeLabel32: 0x47, // (11) @0x47
  fsType32: 0x52, // "FAT32   " (8) @0x52
  signature: 0x1fe, // 55 AA (2) @0x1fe
} as const;

/** Directory entry fields. */
export const FAT_DIRENT = {
  name: 0x0, // 8.3 name, or the 11-byte volume label (11) @0x0
  attributes: 0xb, // (1) @0xb
} as const;
export const FAT_DIRENT_SIZE = 32;

const EXTENDED_BOOT_SIGNATURE = 0x29;
const ATTR_VOLUME_ID = 0x08;
const ATTR_DIRECTORY = 0x10;
const ATTR_LONG_NAME = 0x0f;
const ENTRY_FREE = 0xe5;
const ENTRY_END = 0x00;
/** A first name byte of 0x05 stands for a real 0xE5 (a KANJI lead byte). */
const ENTRY_E5_ESCAPE = 0x05;
const NO_NAME = 'NO NAME';
const FAT32_END_OF_CHAIN = 0x0ffffff8;
const FAT32_ENTRY_MASK = 0x0fffffff;
/** The specification's cluster-count limit between FAT12 and FAT16. */
const FAT12_MAX_CLUSTERS = 4084;

export interface FatBootSector {
  variant: 'FAT12' | 'FAT16' | 'FAT32';
  bytesPerSector: number;
  sectorsPerCluster: number;
  reservedSectors: number;
  fatCount: number;
  sectorsPerFat: number;
  totalSectors: number;
  /** Label in the boot sector, trimmed; empty when absent or "NO NAME". */
  label: string;
  /** Volume serial as blkid prints it: "ABCD-1234"; empty without an extended boot signature. */
  volumeId: string;
  /** Where the root directory is: a fixed region (FAT12/16) or a cluster chain (FAT32). */
  root: { kind: 'region'; offset: number; bytes: number } | { kind: 'chain'; firstCluster: number };
  /** Byte offset of the first data cluster (cluster 2). */
  dataOffset: number;
  clusterBytes: number;
  clusterCount: number;
  /** Byte offset of the first FAT. */
  fatOffset: number;
}

/**
 * True when the sector at `offset` looks like a FAT boot sector: an x86 jump and a "FAT" type string where
 * FAT12/16 or FAT32 keep it. Other volumes that start with a jump (NTFS, exFAT) have neither string.
 */
export function looksLikeFat(bytes: Uint8Array, offset = 0): boolean {
  if (bytes.length < offset + 512) return false;
  const jumpOk = (bytes[offset] === 0xeb && bytes[offset + 2] === 0x90) || bytes[offset] === 0xe9;
  const ascii = (at: number) => String.fromCharCode(...bytes.subarray(offset + at, offset + at + 3));
  return jumpOk && (ascii(FAT_BPB.fsType16) === 'FAT' || ascii(FAT_BPB.fsType32) === 'FAT');
}

/**
 * Decodes the boot sector at `offset` of `bytes`. Throws `DecodeError` with the field's offset for values
 * no FAT driver accepts (sector size, cluster size, FAT count, a layout that does not fit the volume).
 * @example decodeFatBootSector(firstSector).label // 'ESP'
 */
export function decodeFatBootSector(bytes: Uint8Array, offset = 0): FatBootSector {
  const [format, what] = ['FAT', 'boot sector'];
  if (bytes.length < offset + 512) throw new DecodeError(format, what, offset, `need 512 bytes, have ${Math.max(0, bytes.length - offset)}`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u8 = (field: number) => v.getUint8(offset + field);
  const u16 = (field: number) => v.getUint16(offset + field, true);
  const u32 = (field: number) => v.getUint32(offset + field, true);
  const fail = (field: number, reason: string): never => {
    throw new DecodeError(format, what, offset + field, reason);
  };

  if (u16(FAT_BPB.signature) !== 0xaa55) fail(FAT_BPB.signature, `bad signature 0x${u16(FAT_BPB.signature).toString(16)} (want 0xaa55)`);
  const bytesPerSector = u16(FAT_BPB.bytesPerSector);
  if (![512, 1024, 2048, 4096].includes(bytesPerSector)) fail(FAT_BPB.bytesPerSector, `${bytesPerSector} bytes per sector (want 512, 1024, 2048 or 4096)`);
  const sectorsPerCluster = u8(FAT_BPB.sectorsPerCluster);
  if (sectorsPerCluster === 0 || (sectorsPerCluster & (sectorsPerCluster - 1)) !== 0) {
    fail(FAT_BPB.sectorsPerCluster, `${sectorsPerCluster} sectors per cluster (want a power of two)`);
  }
  const reservedSectors = u16(FAT_BPB.reservedSectors);
  if (reservedSectors === 0) fail(FAT_BPB.reservedSectors, 'no reserved sectors (the boot sector is one)');
  const fatCount = u8(FAT_BPB.fatCount);
  if (fatCount === 0) fail(FAT_BPB.fatCount, 'no FATs');
  const media = u8(FAT_BPB.media);
  if (media !== 0xf0 && media < 0xf8) fail(FAT_BPB.media, `media byte 0x${media.toString(16)} (want 0xf0 or 0xf8-0xff)`);

  const fat32Layout = u16(FAT_BPB.sectorsPerFat16) === 0;
  const sectorsPerFat = fat32Layout ? u32(FAT_BPB.sectorsPerFat32) : u16(FAT_BPB.sectorsPerFat16);
  if (sectorsPerFat === 0) fail(FAT_BPB.sectorsPerFat32, 'FAT size is 0');
  const rootEntries = u16(FAT_BPB.rootEntries);
  if (fat32Layout && rootEntries !== 0) fail(FAT_BPB.rootEntries, `${rootEntries} fixed root entries on a FAT32 layout (want 0)`);
  const totalSectors = u16(FAT_BPB.totalSectors16) || u32(FAT_BPB.totalSectors32);
  const rootSectors = Math.ceil((rootEntries * FAT_DIRENT_SIZE) / bytesPerSector);
  const metaSectors = reservedSectors + fatCount * sectorsPerFat + rootSectors;
  if (totalSectors <= metaSectors) {
    fail(FAT_BPB.totalSectors32, `${totalSectors} sectors leave no room for data after ${metaSectors} sectors of FATs and root directory`);
  }
  const clusterCount = Math.floor((totalSectors - metaSectors) / sectorsPerCluster);
  // Linux (and blkid) go by the layout, not the specification's cluster-count rule, so a small FAT32 still counts.
  const variant = fat32Layout ? 'FAT32' : clusterCount <= FAT12_MAX_CLUSTERS ? 'FAT12' : 'FAT16';

  const signatureAt = fat32Layout ? FAT_BPB.bootSignature32 : FAT_BPB.bootSignature16;
  const extended = u8(signatureAt) === EXTENDED_BOOT_SIGNATURE;
  const labelAt = fat32Layout ? FAT_BPB.volumeLabel32 : FAT_BPB.volumeLabel16;
  const serial = u32(fat32Layout ? FAT_BPB.volumeId32 : FAT_BPB.volumeId16);
  const rootCluster = u32(FAT_BPB.rootCluster);
  if (fat32Layout && (rootCluster < 2 || rootCluster >= clusterCount + 2)) {
    fail(FAT_BPB.rootCluster, `root directory cluster ${rootCluster} is outside clusters 2..${clusterCount + 1}`);
  }
  const fatOffset = reservedSectors * bytesPerSector;
  const rootOffset = (reservedSectors + fatCount * sectorsPerFat) * bytesPerSector;
  return {
    variant,
    bytesPerSector,
    sectorsPerCluster,
    reservedSectors,
    fatCount,
    sectorsPerFat,
    totalSectors,
    label: extended ? labelText(bytes.subarray(offset + labelAt, offset + labelAt + 11)) : '',
    volumeId: extended ? `${hex4(serial >>> 16)}-${hex4(serial & 0xffff)}` : '',
    root: fat32Layout ? { kind: 'chain', firstCluster: rootCluster } : { kind: 'region', offset: rootOffset, bytes: rootEntries * FAT_DIRENT_SIZE },
    dataOffset: metaSectors * bytesPerSector,
    clusterBytes: sectorsPerCluster * bytesPerSector,
    clusterCount,
    fatOffset,
  };
}

/**
 * The volume label stored as a root directory entry, or undefined when the entries in `bytes` (whole
 * 32-byte entries of the root directory) hold none before the end marker. `done` tells a caller reading the
 * directory cluster by cluster that the end marker was seen.
 */
export function findFatLabelEntry(bytes: Uint8Array): { label: string | undefined; done: boolean } {
  for (let at = 0; at + FAT_DIRENT_SIZE <= bytes.length; at += FAT_DIRENT_SIZE) {
    const first = bytes[at + FAT_DIRENT.name];
    if (first === ENTRY_END) return { label: undefined, done: true };
    if (first === ENTRY_FREE) continue;
    const attributes = bytes[at + FAT_DIRENT.attributes];
    if ((attributes & ATTR_LONG_NAME) === ATTR_LONG_NAME) continue;
    if ((attributes & (ATTR_VOLUME_ID | ATTR_DIRECTORY)) !== ATTR_VOLUME_ID) continue;
    const raw = bytes.slice(at, at + 11);
    if (raw[0] === ENTRY_E5_ESCAPE) raw[0] = ENTRY_FREE;
    return { label: labelText(raw), done: true };
  }
  return { label: undefined, done: false };
}

/** The cluster after `cluster` in a FAT32 chain, from its 4-byte FAT entry at `offset`; undefined at the end. */
export function decodeFat32Entry(bytes: Uint8Array, offset = 0): number | undefined {
  const value = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(offset, true) & FAT32_ENTRY_MASK;
  return value >= FAT32_END_OF_CHAIN || value < 2 ? undefined : value;
}

/** Labels are space-padded OEM code page text; blkid treats "NO NAME" as no label. */
function labelText(raw: Uint8Array): string {
  const text = String.fromCharCode(...raw).replace(/[ \0]+$/, '');
  return text === NO_NAME ? '' : text;
}

function hex4(n: number): string {
  return n.toString(16).toUpperCase().padStart(4, '0');
}
