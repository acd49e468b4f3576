/** kiln writes 512-byte sectors (what mkfs.fat uses on image files and what OVMF expects). */
export const SECTOR_SIZE = 512;

/** FAT32 boot sector / BIOS parameter block fields (Microsoft FAT spec, section 3). */
export const BPB = {
  jump: 0, // x86 jump over the BPB: EB 58 90 (3) @0
  oemName: 3, // (8) @3
  bytesPerSector: 11, // (2) @11
  sectorsPerCluster: 13, // (1) @13
  reservedSectors: 14, // (2) @14
  fatCount: 16, // (1) @16
  rootEntries: 17, // 0 on FAT32 (2) @17
  totalSectors16: 19, // 0 on FAT32 (2) @19
  media: 21, // (1) @21
  sectorsPerFat16: 22, // 0 on FAT32 — this is what makes drivers read it as FAT32 (2) @22
  sectorsPerTrack: 24, // (2) @24
  heads: 26, // (2) @26
  hiddenSectors: 28, // sectors before the volume on its disk (4) @28
  totalSectors32: 32, // (4) @32
  sectorsPerFat32: 36, // (4) @36
  extFlags: 40, // 0: all FATs mirrored (2) @40
  fsVersion: 42, // 0.0 (2) @42
  rootCluster: 44, // (4) @44
  fsInfoSector: 48, // (2) @48
  backupBootSector: 50, // (2) @50
  reserved: 52, // zero (12) @52
  driveNumber: 64, // 0x80 (1) @64
  reserved1: 65, // (1) @65
  bootSignature: 66, // 0x29: the next three fields are present (1) @66
  volumeId: 67, // (4) @67
  volumeLabel: 71, // (11) @71
  fsType: 82, // "FAT32   ", informational only (8) @82
  bootCode: 90, // (420) @90
  signature: 510, // 0x55 0xAA (2) @510
} as const;

export const JUMP = [0xeb, 0x58, 0x90] as const;
/**
 * Placed at the jump target so a BIOS that boots the volume stops quietly: cli; hlt; jmp back to hlt.
 * UEFI never runs it.
 */
export const BOOT_CODE = [0xfa, 0xf4, 0xeb, 0xfd] as const;
/** The OEM name the FAT spec recommends for the widest driver compatibility. */
export const OEM_NAME = 'MSWIN4.1';
export const MEDIA_FIXED_DISK = 0xf8;
export const DRIVE_NUMBER_HARD_DISK = 0x80;
export const EXTENDED_BOOT_SIGNATURE = 0x29;
export const FS_TYPE = 'FAT32   ';
export const NO_LABEL = 'NO NAME    ';
export const BOOT_SECTOR_SIGNATURE = 0xaa55;

export const RESERVED_SECTORS = 32; // mkfs.fat's FAT32 default, before alignment
export const FAT_COUNT = 2;
export const FSINFO_SECTOR = 1;
export const BACKUP_BOOT_SECTOR = 6; // the backup FSInfo follows it in sector 7
export const ROOT_CLUSTER = 2;
export const FIRST_CLUSTER = 2;

/** FSInfo sector fields. */
export const FSINFO = {
  leadSignature: 0, // 0x41615252 "RRaA" (4) @0
  structSignature: 484, // 0x61417272 "rrAa" (4) @484
  freeCount: 488, // free clusters, or 0xFFFFFFFF if unknown (4) @488
  nextFree: 492, // where to start looking for a free cluster (4) @492
  trailSignature: 508, // 0xAA550000 (4) @508
} as const;
export const FSINFO_LEAD_SIGNATURE = 0x4161_5252;
export const FSINFO_STRUCT_SIGNATURE = 0x6141_7272;
export const FSINFO_TRAIL_SIGNATURE = 0xaa55_0000;
export const FSINFO_UNKNOWN = 0xffff_ffff;

/** FAT entries are 28 bits; the top four are reserved. */
export const FAT_ENTRY_SIZE = 4;
export const FAT_ENTRY_MASK = 0x0fff_ffff;
export const FAT_END_OF_CHAIN = 0x0fff_ffff;
/** Values from here up end a chain. */
export const FAT_END_OF_CHAIN_MIN = 0x0fff_fff8;
export const FAT_BAD_CLUSTER = 0x0fff_fff7;
/** FAT[1]: end-of-chain with the "clean shutdown" and "no I/O errors" bits set. */
export const FAT1_CLEAN = 0x0fff_ffff;

/** A volume with fewer clusters is FAT12/16 to every driver that counts (OVMF's FAT driver does). */
export const MIN_CLUSTERS_FAT32 = 65_525;
export const MAX_CLUSTERS_FAT32 = 0x0fff_fff5 - 2;

/** Short directory entry fields (32 bytes). */
export const DIRENT = {
  name: 0, // 8.3 name, space padded, no dot (11) @0
  attributes: 11, // (1) @11
  ntCase: 12, // bit 3: base is lower case, bit 4: extension is lower case (1) @12
  createTenths: 13, // (1) @13
  createTime: 14, // (2) @14
  createDate: 16, // (2) @16
  accessDate: 18, // (2) @18
  clusterHigh: 20, // (2) @20
  writeTime: 22, // (2) @22
  writeDate: 24, // (2) @24
  clusterLow: 26, // (2) @26
  size: 28, // (4) @28
} as const;
export const DIRENT_SIZE = 32;
export const MAX_DIRECTORY_ENTRIES = 65_536; // 2 MiB of entries: the spec's limit on a directory's size

/** Long-name (VFAT) entry fields (32 bytes), stored before the short entry they name, last part first. */
export const LFN = {
  order: 0, // sequence number, 0x40 on the last (first stored) part (1) @0
  name1: 1, // UTF-16LE units 1–5 (10) @1
  attributes: 11, // 0x0F (1) @11
  type: 12, // 0 (1) @12
  checksum: 13, // checksum of the short name (1) @13
  name2: 14, // units 6–11 (12) @14
  cluster: 26, // 0 (2) @26
  name3: 28, // units 12–13 (4) @28
} as const;
export const LFN_UNITS_PER_ENTRY = 13;
export const LFN_LAST = 0x40;
export const LFN_MAX_UNITS = 255;
/** Where each of an entry's 13 UTF-16 units lives. */
export const LFN_UNIT_OFFSETS = [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30] as const;

export const ATTR = {
  readOnly: 0x01,
  hidden: 0x02,
  system: 0x04,
  volumeId: 0x08,
  directory: 0x10,
  archive: 0x20,
  longName: 0x0f,
} as const;
export const DIRENT_END = 0x00;
export const DIRENT_DELETED = 0xe5;
/** A short name whose first byte really is 0xE5 stores 0x05 there. */
export const DIRENT_KANJI_E5 = 0x05;
export const NT_CASE_LOWER_BASE = 0x08;
export const NT_CASE_LOWER_EXT = 0x10;
