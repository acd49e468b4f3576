import { describe, expect, it } from 'vitest';
import { crc32cRaw } from './crc32c.ts';
import { decodeExt4Superblock, EXT4_SB, hasExt4Magic } from './ext4-superblock.ts';
import { EXT4_DATA_HEAD as GOLDEN } from '../../testing/golden-filesystems.ts';

/** Recomputes the metadata_csum checksum after an edit, so a test reaches the check it means to make. */
function resign(bytes: Uint8Array): Uint8Array {
  const sb = bytes.subarray(0x400, 0x800);
  new DataView(sb.buffer, sb.byteOffset).setUint32(EXT4_SB.checksum, crc32cRaw(0xffffffff, sb.subarray(0, EXT4_SB.checksum)), true);
  return bytes;
}

function edited(at: number, value: number, width: 1 | 2 | 4, sign = true): Uint8Array {
  const bytes = GOLDEN.slice();
  const v = new DataView(bytes.buffer);
  if (width === 1) v.setUint8(0x400 + at, value);
  else if (width === 2) v.setUint16(0x400 + at, value, true);
  else v.setUint32(0x400 + at, value, true);
  return sign ? resign(bytes) : bytes;
}

describe('crc32cRaw', () => {
  it('gives the standard CRC-32C check value once inverted', () => {
    expect(~crc32cRaw(0xffffffff, new TextEncoder().encode('123456789')) >>> 0).toBe(0xe3069283);
  });
});

describe('decodeExt4Superblock', () => {
  it('reads label, UUID, kind and size from golden bytes, and verifies the checksum', () => {
    expect(hasExt4Magic(GOLDEN)).toBe(true);
    expect(decodeExt4Superblock(GOLDEN)).toEqual({
      kind: 'ext4',
      label: 'DATA',
      uuid: '0d0c0b0a-0908-0706-0504-030201000f0e',
      blockSize: 1024,
      blocksCount: 8192,
      hasErrors: false,
      needsRecovery: false,
      checksummed: true,
    });
  });

  it('rejects one flipped label byte by its checksum, naming the offset', () => {
    const bytes = GOLDEN.slice();
    bytes[0x400 + EXT4_SB.volumeName] ^= 0x20; // "DATA" -> "dATA"
    expect(() => decodeExt4Superblock(bytes)).toThrow('Cannot decode ext4 superblock at 0x7fc: checksum 0x36409f08 does not match its contents (0xd582389d)');
  });

  it('names a bad magic', () => {
    expect(hasExt4Magic(edited(EXT4_SB.magic, 0x1234, 2))).toBe(false);
    expect(() => decodeExt4Superblock(edited(EXT4_SB.magic, 0x1234, 2))).toThrow('Cannot decode ext4 superblock at 0x438: bad magic 0x1234 (want 0xef53)');
  });

  it('names out-of-range fields before trusting the checksum', () => {
    expect(() => decodeExt4Superblock(edited(EXT4_SB.logBlockSize, 9, 4, false))).toThrow(
      'Cannot decode ext4 superblock at 0x418: block size 1024 << 9 is not a valid ext4 block size',
    );
    expect(() => decodeExt4Superblock(edited(EXT4_SB.inodesPerGroup, 0, 4))).toThrow('at 0x428: inodes per group is 0');
    expect(() => decodeExt4Superblock(edited(EXT4_SB.checksumType, 7, 1, false))).toThrow('at 0x575: unknown checksum type 7 (want 1, crc32c)');
    expect(() => decodeExt4Superblock(edited(EXT4_SB.featureIncompat, 0x2c2 | 0x8, 4))).toThrow('at 0x460: this is an external journal device');
  });

  it('reports recorded errors and a journal that needs recovery', () => {
    const withErrors = edited(EXT4_SB.state, 0x3, 2);
    expect(decodeExt4Superblock(withErrors).hasErrors).toBe(true);
    expect(decodeExt4Superblock(edited(EXT4_SB.featureIncompat, 0x2c2 | 0x4, 4)).needsRecovery).toBe(true);
  });

  it('classifies ext2 and ext3 by feature bits as blkid does', () => {
    // Without metadata_csum there is no checksum to keep valid.
    const plain = (compat: number, incompat: number) => {
      const b = edited(EXT4_SB.featureRoCompat, 0x3, 4, false);
      const v = new DataView(b.buffer);
      v.setUint32(0x400 + EXT4_SB.featureCompat, compat, true);
      v.setUint32(0x400 + EXT4_SB.featureIncompat, incompat, true);
      return decodeExt4Superblock(b);
    };
    expect(plain(0x38, 0x2).kind).toBe('ext2');
    expect(plain(0x3c, 0x2).kind).toBe('ext3');
    expect(plain(0x3c, 0x42).kind).toBe('ext4');
    expect(plain(0x3c, 0x2).checksummed).toBe(false);
  });

  it('says how many bytes it needed when the input is short', () => {
    expect(() => decodeExt4Superblock(GOLDEN.subarray(0, 1500))).toThrow('Cannot decode ext4 superblock at 0x400: need 1024 bytes, have 476');
    expect(hasExt4Magic(GOLDEN.subarray(0, 100))).toBe(false);
  });
});
