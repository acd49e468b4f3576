/** One partition to place on a GPT disk. */
export interface GptPartitionSpec {
  /** Partition type GUID, e.g. `GptPartitionType.efiSystem`. */
  type: string;
  /** Partition name, at most 36 UTF-16 code units. */
  name: string;
  /** Size in bytes; a positive multiple of 512. */
  sizeBytes: number;
  /**
   * Byte offset from the start of the disk; a multiple of 512.
   * @default the first 1 MiB boundary after the previous partition (after the primary GPT for the first)
   */
  offsetBytes?: number;
  /** Unique partition GUID. @default derived from the layout's `seed` (random without one) */
  guid?: string;
  /** Attribute bits (bit 0 required, bit 1 no block I/O protocol, bit 2 legacy BIOS bootable, 48–63 type-specific). @default 0n */
  attributes?: bigint;
}

/** A whole GPT disk to lay out. */
export interface GptLayout {
  partitions: readonly GptPartitionSpec[];
  /** Disk size in bytes; a multiple of 512. @default the smallest whole MiB holding the partitions and the backup GPT */
  diskSizeBytes?: number;
  /** Disk GUID. @default derived from `seed` (random without one) */
  diskGuid?: string;
  /** Makes every GUID not given explicitly a function of this string, so images are reproducible. */
  seed?: string;
}

/** A placed partition, as encoded or decoded. */
export interface GptPartition {
  /** 1-based entry number, as sgdisk and Linux (`/dev/vda1`) count. */
  number: number;
  type: string;
  name: string;
  guid: string;
  attributes: bigint;
  firstLba: number;
  /** Inclusive. */
  lastLba: number;
  offsetBytes: number;
  sizeBytes: number;
}

/** A GPT disk's partition table. */
export interface GptDisk {
  diskSizeBytes: number;
  diskGuid: string;
  firstUsableLba: number;
  lastUsableLba: number;
  partitions: GptPartition[];
}

/** The bytes of a GPT: `head` goes at offset 0, `tail` at `tailOffset` (the last 33 sectors). */
export interface EncodedGpt extends GptDisk {
  /** Protective MBR, primary header and primary entry array: LBA 0–33. */
  head: Uint8Array;
  /** Backup entry array and backup header: the disk's last 33 LBAs. */
  tail: Uint8Array;
  tailOffset: number;
}
