import { describe, expect, it } from 'vitest';
import { FAT32_ESP_HEAD as FAT32_GOLDEN } from '../testing/golden-filesystems.ts';
import { fromDump } from '../testing/xxd.ts';
import { decodeFat32Entry, decodeFatBootSector, FAT_BPB, findFatLabelEntry, looksLikeFat } from './vfat.ts';

/** `mkfs.vfat -F 16 -n BOOT16 -i 00C0FFEE` on 16 MiB. */
const FAT16_GOLDEN = fromDump(
  512,
  0,
  `
00000000: eb3c 906d 6b66 732e 6661 7400 0204 0400
00000010: 0200 0200 80f8 2000 2000 0200 0000 0000
00000020: 0000 0000 8000 29ee ffc0 0042 4f4f 5431
00000030: 3620 2020 2020 4641 5431 3620 2020 0e1f
000001f0: 0000 0000 0000 0000 0000 0000 0000 55aa
`,
);

/** `mkfs.vfat -F 12 -n TINY12 -i 0BADF00D` on 2 MiB. */
const FAT12_GOLDEN = fromDump(
  512,
  0,
  `
00000000: eb3c 906d 6b66 732e 6661 7400 0204 0100
00000010: 0200 0200 10f8 0300 1000 0200 0000 0000
00000020: 0000 0000 8000 290d f0ad 0b54 494e 5931
00000030: 3220 2020 2020 4641 5431 3220 2020 0e1f
000001f0: 0000 0000 0000 0000 0000 0000 0000 55aa
`,
);

function edited(golden: Uint8Array, at: number, value: number, width: 1 | 2 | 4): Uint8Array {
  const bytes = golden.slice();
  const v = new DataView(bytes.buffer);
  if (width === 1) v.setUint8(at, value);
  else if (width === 2) v.setUint16(at, value, true);
  else v.setUint32(at, value, true);
  return bytes;
}

function entry(name: string, attributes: number): Uint8Array {
  const e = new Uint8Array(32);
  // One byte per character: labels are OEM code page text, not UTF-8.
  e.set(
    Array.from(name.padEnd(11, ' '), (c) => c.charCodeAt(0)),
    0,
  );
  e[11] = attributes;
  return e;
}

describe('decodeFatBootSector', () => {
  it('reads a FAT32 BPB from golden bytes', () => {
    expect(looksLikeFat(FAT32_GOLDEN)).toBe(true);
    expect(decodeFatBootSector(FAT32_GOLDEN)).toEqual({
      variant: 'FAT32',
      bytesPerSector: 512,
      sectorsPerCluster: 1,
      reservedSectors: 32,
      fatCount: 2,
      sectorsPerFat: 536,
      totalSectors: 69632,
      label: 'ESP',
      volumeId: '1234-ABCD',
      root: { kind: 'chain', firstCluster: 2 },
      dataOffset: (32 + 2 * 536) * 512,
      clusterBytes: 512,
      clusterCount: 69632 - 32 - 2 * 536,
      fatOffset: 32 * 512,
    });
  });

  it('reads FAT16 and FAT12 labels at 0x2b, and their fixed root directory', () => {
    const fat16 = decodeFatBootSector(FAT16_GOLDEN);
    expect([fat16.variant, fat16.label, fat16.volumeId]).toEqual(['FAT16', 'BOOT16', '00C0-FFEE']);
    expect(fat16.root).toEqual({ kind: 'region', offset: (4 + 2 * 32) * 512, bytes: 512 * 32 });
    const fat12 = decodeFatBootSector(FAT12_GOLDEN);
    expect([fat12.variant, fat12.label, fat12.volumeId]).toEqual(['FAT12', 'TINY12', '0BAD-F00D']);
  });

  it('treats "NO NAME" and a missing extended boot signature as no label', () => {
    const noName = FAT32_GOLDEN.slice();
    noName.set(new TextEncoder().encode('NO NAME    '), FAT_BPB.volumeLabel32);
    expect(decodeFatBootSector(noName).label).toBe('');
    const old = edited(FAT16_GOLDEN, FAT_BPB.bootSignature16, 0, 1);
    expect([decodeFatBootSector(old).label, decodeFatBootSector(old).volumeId]).toEqual(['', '']);
  });

  it('names the bad field of a corrupt boot sector', () => {
    expect(() => decodeFatBootSector(edited(FAT32_GOLDEN, FAT_BPB.bytesPerSector, 513, 2))).toThrow(
      'Cannot decode FAT boot sector at 0xb: 513 bytes per sector (want 512, 1024, 2048 or 4096)',
    );
    expect(() => decodeFatBootSector(edited(FAT32_GOLDEN, FAT_BPB.sectorsPerCluster, 3, 1))).toThrow('at 0xd: 3 sectors per cluster (want a power of two)');
    expect(() => decodeFatBootSector(edited(FAT32_GOLDEN, FAT_BPB.reservedSectors, 0, 2))).toThrow('at 0xe: no reserved sectors');
    expect(() => decodeFatBootSector(edited(FAT32_GOLDEN, FAT_BPB.fatCount, 0, 1))).toThrow('at 0x10: no FATs');
    expect(() => decodeFatBootSector(edited(FAT32_GOLDEN, FAT_BPB.media, 0x12, 1))).toThrow('at 0x15: media byte 0x12');
    expect(() => decodeFatBootSector(edited(FAT32_GOLDEN, FAT_BPB.signature, 0, 2))).toThrow('at 0x1fe: bad signature 0x0 (want 0xaa55)');
    expect(() => decodeFatBootSector(edited(FAT32_GOLDEN, FAT_BPB.totalSectors32, 1000, 4))).toThrow(
      'at 0x20: 1000 sectors leave no room for data after 1104 sectors of FATs and root directory',
    );
    expect(() => decodeFatBootSector(edited(FAT32_GOLDEN, FAT_BPB.rootCluster, 1, 4))).toThrow(
      'at 0x2c: root directory cluster 1 is outside clusters 2..68529',
    );
  });

  it('does not take other volumes that start with a jump for FAT', () => {
    const ntfs = FAT32_GOLDEN.slice();
    ntfs.set(new TextEncoder().encode('NTFS    '), 3);
    ntfs.fill(0, FAT_BPB.fsType32, FAT_BPB.fsType32 + 8);
    expect(looksLikeFat(ntfs)).toBe(false);
    expect(looksLikeFat(new Uint8Array(512))).toBe(false);
    expect(looksLikeFat(FAT32_GOLDEN.subarray(0, 100))).toBe(false);
  });
});

describe('findFatLabelEntry', () => {
  it('finds the label entry after files, skipping deleted and long-name entries', () => {
    const dir = new Uint8Array(32 * 5);
    dir.set(entry('EFI', 0x10), 0);
    dir.set(entry('\u00e5OLDLBL', 0x08), 32);
    dir.set(entry('Ax', 0x0f), 64);
    dir.set(entry('DATA', 0x28), 96);
    expect(findFatLabelEntry(dir)).toEqual({ label: 'DATA', done: true });
  });

  it('stops at the end marker, and asks for more when the entries ran out first', () => {
    expect(findFatLabelEntry(new Uint8Array(64))).toEqual({ label: undefined, done: true });
    expect(findFatLabelEntry(entry('README  TXT', 0x20))).toEqual({ label: undefined, done: false });
  });

  it('turns a leading 0x05 back into 0xE5', () => {
    expect(findFatLabelEntry(entry('\u0005BC', 0x08)).label).toBe('\u00e5BC');
  });
});

describe('decodeFat32Entry', () => {
  it('masks the top bits and ends the chain at 0x0ffffff8 and above', () => {
    const fat = new Uint8Array([0x05, 0x00, 0x00, 0xf0, 0xff, 0xff, 0xff, 0x0f]);
    expect(decodeFat32Entry(fat, 0)).toBe(5);
    expect(decodeFat32Entry(fat, 4)).toBeUndefined();
  });
});
