/** Logical block size. kiln writes 512-byte-sector images only (what QEMU and OVMF use by default). */
export const SECTOR_SIZE = 512;

/** Partitions placed without an explicit offset start on this boundary (what sgdisk and parted use). */
export const DEFAULT_ALIGNMENT = 1024 * 1024;

/** Protective MBR (LBA 0). */
export const MBR = {
  partitionEntry: 446, // first partition entry (16) @446
  signature: 510, // boot signature 0x55 0xAA (2) @510
} as const;
/** Fields of an MBR partition entry, relative to its start. */
export const MBR_ENTRY = {
  status: 0, // boot indicator (1) @0
  firstChs: 1, // CHS of first sector (3) @1
  osType: 4, // partition type (1) @4
  lastChs: 5, // CHS of last sector (3) @5
  firstLba: 8, // first LBA (4) @8
  sectors: 12, // size in sectors (4) @12
} as const;
export const MBR_BOOT_SIGNATURE = 0xaa55;
/** MBR partition type that marks the whole disk as GPT. */
export const MBR_TYPE_GPT_PROTECTIVE = 0xee;
/** The protective entry's starting CHS, fixed by the UEFI spec (head 0, sector 2, cylinder 0). */
export const PROTECTIVE_FIRST_CHS = [0x00, 0x02, 0x00] as const;
/** The geometry gdisk uses to express the protective entry's end as CHS. */
export const CHS_HEADS = 255;
export const CHS_SECTORS_PER_TRACK = 63;
export const CHS_MAX_CYLINDER = 1023;

/** GPT header fields (UEFI spec 5.3.2). */
export const HEADER = {
  signature: 0, // "EFI PART" (8) @0
  revision: 8, // 0x00010000 (4) @8
  headerSize: 12, // 92 (4) @12
  headerCrc: 16, // CRC32 of the header with this field zeroed (4) @16
  reserved: 20, // zero (4) @20
  myLba: 24, // LBA of this header (8) @24
  alternateLba: 32, // LBA of the other header (8) @32
  firstUsableLba: 40, // (8) @40
  lastUsableLba: 48, // (8) @48
  diskGuid: 56, // (16) @56
  entriesLba: 72, // first LBA of the partition entry array (8) @72
  entryCount: 80, // number of entries (4) @80
  entrySize: 84, // bytes per entry (4) @84
  entriesCrc: 88, // CRC32 of the whole entry array (4) @88
} as const;
export const GPT_SIGNATURE = 'EFI PART';
export const GPT_REVISION = 0x0001_0000;
export const GPT_HEADER_SIZE = 92;

/** Partition entry fields (UEFI spec 5.3.3). */
export const ENTRY = {
  typeGuid: 0, // partition type GUID (16) @0
  uniqueGuid: 16, // unique partition GUID (16) @16
  firstLba: 32, // (8) @32
  lastLba: 40, // inclusive (8) @40
  attributes: 48, // (8) @48
  name: 56, // UTF-16LE, zero padded (72) @56
} as const;
export const GPT_ENTRY_COUNT = 128;
export const GPT_ENTRY_SIZE = 128;
export const GPT_NAME_UNITS = 36;

/** 128 entries × 128 bytes = 32 sectors. */
export const ENTRIES_SECTORS = (GPT_ENTRY_COUNT * GPT_ENTRY_SIZE) / SECTOR_SIZE;
/** LBA 0 (MBR) + LBA 1 (header) + the entry array. */
export const HEAD_SECTORS = 2 + ENTRIES_SECTORS;
/** The backup entry array + the backup header in the last LBA. */
export const TAIL_SECTORS = ENTRIES_SECTORS + 1;
