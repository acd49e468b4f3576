/**
 * The ext2/3/4 superblock, read just far enough to find a filesystem by LABEL and to refuse a corrupt one:
 * label, UUID, kind, size, state and (with metadata_csum) the superblock's own CRC-32C.
 * Field offsets are from the kernel's `struct ext4_super_block` (fs/ext4/ext4.h).
 */
import { crc32cRaw } from './crc32c.ts';
import { DecodeError } from '../decode-error.ts';

/** Where the primary superblock starts on the partition, and its size. */
export const EXT4_SUPERBLOCK_OFFSET = 1024;
export const EXT4_SUPERBLOCK_SIZE = 1024;
export const EXT4_MAGIC = 0xef53;

/** Superblock fields, relative to the superblock's start. */
export const EXT4_SB = {
  inodesCount: 0x0, // s_inodes_count (4) @0x0
  blocksCountLo: 0x4, // s_blocks_count_lo (4) @0x4
  firstDataBlock: 0x14, // s_first_data_block (4) @0x14
  logBlockSize: 0x18, // block size = 1024 << this (4) @0x18
  blocksPerGroup: 0x20, // s_blocks_per_group (4) @0x20
  inodesPerGroup: 0x28, // s_inodes_per_group (4) @0x28
  magic: 0x38, // 0xEF53 (2) @0x38
  state: 0x3a, // 1 = cleanly unmounted, 2 = errors detected, 4 = orphans being recovered (2) @0x3a
  revLevel: 0x4c, // 0 = original, 1 = dynamic (4) @0x4c
  featureCompat: 0x5c, // (4) @0x5c
  featureIncompat: 0x60, // (4) @0x60
  featureRoCompat: 0x64, // (4) @0x64
  uuid: 0x68, // (16) @0x68
  volumeName: 0x78, // NUL-padded label (16) @0x78
  blocksCountHi: 0x150, // with the 64bit feature (4) @0x150
  checksumType: 0x175, // 1 = crc32c (1) @0x175
  checksum: 0x3fc, // crc32c_le(~0, superblock[0..0x3fc]) (4) @0x3fc
} as const;

export const EXT4_LABEL_MAX = 16;

const COMPAT_HAS_JOURNAL = 0x4;
const INCOMPAT_FILETYPE = 0x2;
const INCOMPAT_RECOVER = 0x4;
const INCOMPAT_JOURNAL_DEV = 0x8;
const INCOMPAT_META_BG = 0x10;
const INCOMPAT_64BIT = 0x80;
const RO_COMPAT_SPARSE_SUPER = 0x1;
const RO_COMPAT_LARGE_FILE = 0x2;
const RO_COMPAT_BTREE_DIR = 0x4;
const RO_COMPAT_METADATA_CSUM = 0x400;
const CHECKSUM_TYPE_CRC32C = 1;
const STATE_ERRORS = 0x2;
/** Feature bits an ext3 driver understands; anything beyond makes the filesystem ext4 (blkid's rule). */
const EXT3_INCOMPAT = INCOMPAT_FILETYPE | INCOMPAT_RECOVER | INCOMPAT_META_BG;
const EXT3_RO_COMPAT = RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE | RO_COMPAT_BTREE_DIR;
/** 64 KiB: the largest block size the kernel mounts. */
const MAX_LOG_BLOCK_SIZE = 6;

export interface Ext4Superblock {
  /** ext2, ext3 or ext4, by feature bits as blkid decides it; the kernel's ext4 driver mounts all three. */
  kind: 'ext2' | 'ext3' | 'ext4';
  /** Empty when the filesystem has none. */
  label: string;
  /** Lower case, 8-4-4-4-12, as blkid prints it. */
  uuid: string;
  blockSize: number;
  blocksCount: number;
  /** The filesystem recorded errors (s_state): fsck should look at it. */
  hasErrors: boolean;
  /** The journal holds transactions not yet replayed (the last unmount was not clean). */
  needsRecovery: boolean;
  /** Whether the superblock carries a CRC-32C (metadata_csum); it was verified when true. */
  checksummed: boolean;
}

/** True when `bytes` has the ext2/3/4 magic where a superblock starting at `offset` keeps it. */
export function hasExt4Magic(bytes: Uint8Array, offset = EXT4_SUPERBLOCK_OFFSET): boolean {
  if (bytes.length < offset + EXT4_SB.magic + 2) return false;
  return view(bytes).getUint16(offset + EXT4_SB.magic, true) === EXT4_MAGIC;
}

/**
 * Decodes the superblock that starts at `offset` in `bytes` (the partition's first bytes; the primary
 * superblock is at 1024). Throws `DecodeError` naming the field's partition offset when the magic is wrong,
 * a field is out of range, or the metadata_csum checksum does not match.
 * @example decodeExt4Superblock(firstFourKiB).label // 'DATA'
 */
export function decodeExt4Superblock(bytes: Uint8Array, offset = EXT4_SUPERBLOCK_OFFSET): Ext4Superblock {
  const [format, what] = ['ext4', 'superblock'];
  if (bytes.length < offset + EXT4_SUPERBLOCK_SIZE) {
    throw new DecodeError(format, what, offset, `need ${EXT4_SUPERBLOCK_SIZE} bytes, have ${Math.max(0, bytes.length - offset)}`);
  }
  const v = view(bytes);
  const u32 = (field: number) => v.getUint32(offset + field, true);
  const magic = v.getUint16(offset + EXT4_SB.magic, true);
  if (magic !== EXT4_MAGIC) throw new DecodeError(format, what, offset + EXT4_SB.magic, `bad magic 0x${hex(magic, 4)} (want 0xef53)`);

  const logBlockSize = u32(EXT4_SB.logBlockSize);
  if (logBlockSize > MAX_LOG_BLOCK_SIZE) {
    throw new DecodeError(format, what, offset + EXT4_SB.logBlockSize, `block size 1024 << ${logBlockSize} is not a valid ext4 block size`);
  }
  for (const [name, field] of [
    ['inodes count', EXT4_SB.inodesCount],
    ['blocks per group', EXT4_SB.blocksPerGroup],
    ['inodes per group', EXT4_SB.inodesPerGroup],
  ] as const) {
    if (u32(field) === 0) throw new DecodeError(format, what, offset + field, `${name} is 0`);
  }
  const compat = u32(EXT4_SB.featureCompat);
  const incompat = u32(EXT4_SB.featureIncompat);
  const roCompat = u32(EXT4_SB.featureRoCompat);
  if (incompat & INCOMPAT_JOURNAL_DEV) {
    throw new DecodeError(format, what, offset + EXT4_SB.featureIncompat, 'this is an external journal device, not a filesystem');
  }
  const checksummed = (roCompat & RO_COMPAT_METADATA_CSUM) !== 0;
  if (checksummed) {
    const type = v.getUint8(offset + EXT4_SB.checksumType);
    if (type !== CHECKSUM_TYPE_CRC32C) throw new DecodeError(format, what, offset + EXT4_SB.checksumType, `unknown checksum type ${type} (want 1, crc32c)`);
    const stored = u32(EXT4_SB.checksum);
    const computed = crc32cRaw(0xffffffff, bytes.subarray(offset, offset + EXT4_SB.checksum));
    if (stored !== computed) {
      throw new DecodeError(format, what, offset + EXT4_SB.checksum, `checksum 0x${hex(stored, 8)} does not match its contents (0x${hex(computed, 8)})`);
    }
  }
  const blocksHi = incompat & INCOMPAT_64BIT ? u32(EXT4_SB.blocksCountHi) : 0;
  const blocksCount = blocksHi * 2 ** 32 + u32(EXT4_SB.blocksCountLo);
  if (blocksCount === 0) throw new DecodeError(format, what, offset + EXT4_SB.blocksCountLo, 'blocks count is 0');

  const beyondExt3 = (incompat & ~EXT3_INCOMPAT) !== 0 || (roCompat & ~EXT3_RO_COMPAT) !== 0;
  const kind = beyondExt3 ? 'ext4' : compat & COMPAT_HAS_JOURNAL ? 'ext3' : 'ext2';
  return {
    kind,
    label: cString(bytes.subarray(offset + EXT4_SB.volumeName, offset + EXT4_SB.volumeName + EXT4_LABEL_MAX)),
    uuid: formatUuid(bytes.subarray(offset + EXT4_SB.uuid, offset + EXT4_SB.uuid + 16)),
    blockSize: 1024 * 2 ** logBlockSize,
    blocksCount,
    hasErrors: (v.getUint16(offset + EXT4_SB.state, true) & STATE_ERRORS) !== 0,
    needsRecovery: (incompat & INCOMPAT_RECOVER) !== 0,
    checksummed,
  };
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function hex(value: number, digits: number): string {
  return value.toString(16).padStart(digits, '0');
}

/** Up to the first NUL, as UTF-8 (e2fsprogs stores the bytes it was given). */
function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end === -1 ? bytes : bytes.subarray(0, end));
}

function formatUuid(bytes: Uint8Array): string {
  const h = Array.from(bytes, (b) => hex(b, 2)).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
