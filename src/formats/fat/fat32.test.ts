import { describe, expect, it } from 'vitest';
import { decodeFat32 } from './decode.js';
import { encodeFat32, encodeFat32Extents } from './encode.js';
import { FAT32_MIN_SIZE_BYTES, fat32Geometry } from './geometry.js';
import { fat32SizeFor } from './size.js';

const MiB = 1024 * 1024;
const bytes = (n: number, seed = 1): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
const ascii = (b: Uint8Array, from: number, length: number): string => Buffer.from(b.subarray(from, from + length)).toString('latin1');

describe('fat32Geometry', () => {
  // Measured with `mkfs.fat -F 32 -g 64/32` (dosfstools 4.2) on files of these sizes.
  it.each([
    [33, 1, 520, 66512],
    [40, 1, 630, 80628],
    [100, 1, 1576, 201616],
    [261, 8, 528, 66680],
    [300, 8, 600, 76646],
    [600, 8, 1200, 153296],
  ])('picks what mkfs.fat picks for %i MiB', (mib, sectorsPerCluster, sectorsPerFat, clusterCount) => {
    expect(fat32Geometry(mib * MiB)).toMatchObject({ sectorsPerCluster, sectorsPerFat, clusterCount, reservedSectors: 32, fatCount: 2 });
  });

  it('knows the smallest FAT32 volume to the sector', () => {
    expect(FAT32_MIN_SIZE_BYTES).toBe(66581 * 512);
    expect(fat32Geometry(FAT32_MIN_SIZE_BYTES).clusterCount).toBe(65525);
    expect(() => fat32Geometry(FAT32_MIN_SIZE_BYTES - 512)).toThrow(
      new RangeError(
        'A 34088960-byte volume is too small for FAT32: it has 65524 clusters of 512 bytes, FAT32 needs at least 65525 (a volume of at least 34089472 bytes)',
      ),
    );
    expect(() => fat32Geometry(32 * MiB)).toThrow(/^A 32 MiB volume is too small for FAT32: it has 64496 clusters/); // mkfs.fat -F 32 agrees, with a warning
    expect(() => fat32Geometry(40 * MiB + 1)).toThrow('FAT32 volume size must be a positive multiple of 512, not 41943041');
  });
});

describe('encodeFat32', () => {
  const boot = bytes(5000);
  const volume = encodeFat32({
    sizeBytes: 40 * MiB,
    label: 'kiln esp',
    volumeId: 0x1234abcd,
    hiddenSectors: 2048,
    timestamp: new Date(Date.UTC(2024, 5, 30, 13, 45, 58)),
    files: [{ path: 'EFI/BOOT/BOOTX64.EFI', data: boot }],
  });
  const view = new DataView(volume.buffer);

  it('writes the boot sector fields', () => {
    expect([...volume.subarray(0, 3)]).toEqual([0xeb, 0x58, 0x90]);
    expect(ascii(volume, 3, 8)).toBe('MSWIN4.1');
    expect(view.getUint16(11, true)).toBe(512); // bytes per sector
    expect(volume[13]).toBe(1); // sectors per cluster (40 MiB ≤ 260 MiB)
    expect(view.getUint16(14, true)).toBe(32); // reserved sectors
    expect(volume[16]).toBe(2); // FATs
    expect(view.getUint16(17, true)).toBe(0); // root entries: none outside the data area on FAT32
    expect(view.getUint16(19, true)).toBe(0); // 16-bit total sectors unused
    expect(volume[21]).toBe(0xf8);
    expect(view.getUint16(22, true)).toBe(0); // 16-bit FAT size 0 marks FAT32
    expect([view.getUint16(24, true), view.getUint16(26, true)]).toEqual([32, 64]);
    expect(view.getUint32(28, true)).toBe(2048);
    expect(view.getUint32(32, true)).toBe(81920); // 40 MiB / 512
    // Clusters + their FAT entries fill what the 32 reserved sectors leave: (81888·512 + 16) / (512 + 8) = 80628,
    // and 80630 four-byte entries need 630 sectors per FAT.
    expect(view.getUint32(36, true)).toBe(630);
    expect(view.getUint16(40, true)).toBe(0);
    expect(view.getUint16(42, true)).toBe(0);
    expect(view.getUint32(44, true)).toBe(2); // root cluster
    expect(view.getUint16(48, true)).toBe(1); // FSInfo
    expect(view.getUint16(50, true)).toBe(6); // backup boot sector
    expect(volume[64]).toBe(0x80);
    expect(volume[66]).toBe(0x29);
    expect(view.getUint32(67, true)).toBe(0x1234abcd);
    expect(ascii(volume, 71, 11)).toBe('KILN ESP   ');
    expect(ascii(volume, 82, 8)).toBe('FAT32   ');
    expect([volume[510], volume[511]]).toEqual([0x55, 0xaa]);
    expect(Buffer.compare(volume.subarray(6 * 512, 8 * 512), volume.subarray(0, 2 * 512))).toBe(0);
  });

  it('writes FSInfo with the exact free count', () => {
    const fsInfo = 512;
    expect(view.getUint32(fsInfo, true)).toBe(0x41615252);
    expect(view.getUint32(fsInfo + 484, true)).toBe(0x61417272);
    // Used: root, EFI, EFI/BOOT (one cluster each) and ceil(5000 / 512) = 10 for the file.
    expect(view.getUint32(fsInfo + 488, true)).toBe(80628 - 13);
    expect(view.getUint32(fsInfo + 492, true)).toBe(15);
    expect(view.getUint32(fsInfo + 508, true)).toBe(0xaa550000);
  });

  it('writes the FAT and the directory entries', () => {
    const fat = 32 * 512;
    const fat2 = fat + 630 * 512;
    expect([0, 1, 2, 3, 4, 5, 13, 14, 15].map((i) => view.getUint32(fat + i * 4, true))).toEqual([
      0x0ffffff8, 0x0fffffff, 0x0fffffff, 0x0fffffff, 0x0fffffff, 6, 14, 0x0fffffff, 0,
    ]);
    expect(Buffer.compare(volume.subarray(fat, fat + 630 * 512), volume.subarray(fat2, fat2 + 630 * 512))).toBe(0);
    const root = (32 + 2 * 630) * 512;
    expect(ascii(volume, root, 11)).toBe('KILN ESP   ');
    expect(volume[root + 11]).toBe(0x08);
    const efi = root + 32;
    expect(ascii(volume, efi, 11)).toBe('EFI        ');
    expect(volume[efi + 11]).toBe(0x10);
    expect(view.getUint16(efi + 26, true)).toBe(3);
    // 2024-06-30 13:45:58 UTC: date (44 << 9) | (6 << 5) | 30, time (13 << 11) | (45 << 5) | 29
    expect(view.getUint16(efi + 24, true)).toBe((44 << 9) | (6 << 5) | 30);
    expect(view.getUint16(efi + 22, true)).toBe((13 << 11) | (45 << 5) | 29);
    const efiDir = root + 512;
    expect(ascii(volume, efiDir, 11)).toBe('.          ');
    expect(view.getUint16(efiDir + 26, true)).toBe(3);
    expect(ascii(volume, efiDir + 32, 11)).toBe('..         ');
    expect(view.getUint16(efiDir + 32 + 26, true)).toBe(0); // parent is the root
    const bootDir = root + 1024;
    const entry = bootDir + 64;
    expect(ascii(volume, entry, 11)).toBe('BOOTX64 EFI');
    expect(volume[entry + 11]).toBe(0x20);
    expect(view.getUint16(entry + 26, true)).toBe(5);
    expect(view.getUint32(entry + 28, true)).toBe(5000);
    expect(Buffer.compare(volume.subarray(root + 3 * 512, root + 3 * 512 + 5000), boot)).toBe(0);
  });

  it('writes VFAT long-name entries before the short entry', () => {
    const v = encodeFat32({ sizeBytes: 40 * MiB, files: [{ path: 'systemd-bootx64.efi', data: bytes(1) }] });
    const root = (32 + 2 * 630) * 512;
    // 19 units → 2 entries, stored last part first: 0x42 with units 13–18 "64.efi", NUL, 0xFFFF padding;
    // then 0x01 with units 0–12 "systemd-bootx".
    const first = v.subarray(root, root + 32);
    expect(first[0]).toBe(0x42);
    expect(first[11]).toBe(0x0f);
    expect(Buffer.from(first.subarray(1, 11)).toString('hex')).toBe('360034002e0065006600'); // "64.ef"
    expect(Buffer.from(first.subarray(14, 26)).toString('hex')).toBe('6900' + '0000' + 'ffffffffffffffff'); // "i", NUL, pad
    expect(Buffer.from(first.subarray(28, 32)).toString('hex')).toBe('ffffffff');
    expect(Buffer.from(v.subarray(root + 33, root + 43)).toString('hex')).toBe('73007900730074006500'); // "syste"
    expect(v[root + 32]).toBe(0x01);
    expect(ascii(v, root + 64, 11)).toBe('SYSTEM~1EFI');
    expect(first[13]).toBe(v[root + 32 + 13]);
  });

  it('is reproducible and independent of file order', () => {
    const files = [
      { path: 'b/x.txt', data: bytes(700) },
      { path: 'a.txt', data: bytes(3) },
      { path: 'b/Long Name.txt', data: bytes(2000) },
    ];
    const a = encodeFat32({ sizeBytes: 34 * MiB, files });
    const b = encodeFat32({ sizeBytes: 34 * MiB, files: [...files].reverse() });
    expect(Buffer.compare(a, b)).toBe(0);
  });

  it('yields sorted, disjoint extents that reference file data', () => {
    const data = bytes(10_000);
    const image = encodeFat32Extents({
      sizeBytes: 40 * MiB,
      files: [
        { path: 'A', data },
        { path: 'EMPTY', data: new Uint8Array(0) },
      ],
    });
    const ends = image.extents.map((e) => [e.offset, e.offset + e.bytes.length]);
    for (let i = 1; i < ends.length; i++) expect(ends[i][0]).toBeGreaterThanOrEqual(ends[i - 1][1]);
    expect(image.extents.at(-1)!.bytes).toBe(data);
    expect(image.usedClusters).toBe(1 + 20);
  });
});

describe('decodeFat32', () => {
  const files = [
    { path: 'EFI/BOOT/BOOTX64.EFI', data: bytes(70_000) },
    { path: 'EFI/systemd/systemd-bootx64.efi', data: bytes(1234, 7) },
    { path: 'loader/entries/kiln.conf', data: new TextEncoder().encode('title kiln\n') },
    { path: 'loader/loader.conf', data: new Uint8Array(0) },
    { path: 'Ünïcode name with a much longer tail than thirteen.txt', data: bytes(512) },
    ...Array.from({ length: 40 }, (_, i) => ({ path: `many/file number ${i}.bin`, data: bytes(i) })),
  ];
  const volume = encodeFat32({ sizeBytes: 36 * MiB, files, label: 'ESP' });

  it('round-trips paths, names and contents', () => {
    const decoded = decodeFat32(volume);
    const got = decoded.entries.filter((e) => e.kind === 'file').map((e) => [e.path, Buffer.from(e.data).toString('hex')]);
    const want = files.map((f) => [f.path, Buffer.from(f.data).toString('hex')]);
    expect(got.sort()).toEqual(want.sort());
    expect(decoded.label).toBe('ESP');
    expect(decoded.freeClusters).toBe(decoded.fsInfoFreeClusters);
    expect(decoded.entries.find((e) => e.path === 'EFI/systemd/systemd-bootx64.efi')).toMatchObject({
      shortName: 'SYSTEM~1.EFI',
      longName: 'systemd-bootx64.efi',
    });
    expect(decoded.entries.find((e) => e.path === 'EFI/BOOT/BOOTX64.EFI')?.longName).toBeUndefined();
    // 40 files × 3 entries + "." and ".." take 122 × 32 bytes: 8 clusters of 512, a chain the reader followed.
    expect(decoded.entries.filter((e) => e.path.startsWith('many/'))).toHaveLength(40);
  });

  it('reports FATs that disagree', () => {
    const bad = volume.slice();
    const fat2 = (32 + fat32Geometry(36 * MiB).sectorsPerFat) * 512;
    bad[fat2 + 9] ^= 0x01;
    expect(() => decodeFat32(bad)).toThrow(`Cannot decode FAT32 FAT 2 at 0x${(fat2 + 9).toString(16)}: differs from FAT 1`);
  });

  it('reports a boot sector that differs from its backup', () => {
    const bad = volume.slice();
    bad[67] ^= 0xff;
    expect(() => decodeFat32(bad)).toThrow('Cannot decode FAT32 backup boot sector at 0xc43: differs from the boot sector');
  });

  it('reports a long name whose checksum does not match', () => {
    const bad = volume.slice();
    const g = fat32Geometry(36 * MiB);
    const root = (32 + 2 * g.sectorsPerFat) * 512;
    // Root: label, then the long-name entries of the Ü… file (sorted after EFI, loader, many).
    const entries = Array.from({ length: 16 }, (_, i) => bad.subarray(root + i * 32, root + i * 32 + 32));
    const lfn = entries.findIndex((e) => e[0] === 0x45 && e[11] === 0x0f); // 0x40 | 5 parts (55 units)
    expect(lfn).toBeGreaterThan(0);
    const short = lfn + 5;
    bad[root + short * 32 + 1] ^= 0x01; // rename the short entry behind the long name's back
    const at = (root + short * 32).toString(16);
    expect(() => decodeFat32(bad)).toThrow(
      new RegExp(`^Cannot decode FAT32 directory entry at 0x${at}: long name checksum 0x[0-9a-f]+ does not match short name "_O_COD~1TXT" \\(0x[0-9a-f]+\\)$`),
    );
  });

  it('reports a chain shorter than the file', () => {
    const bad = volume.slice();
    const view = new DataView(bad.buffer);
    const decoded = decodeFat32(volume);
    const first = decoded.entries.find((e) => e.path === 'EFI/BOOT/BOOTX64.EFI')!.firstCluster;
    const g = decoded.geometry;
    for (const copy of [0, 1]) view.setUint32((32 + copy * g.sectorsPerFat) * 512 + (first + 3) * 4, 0x0fffffff, true);
    expect(() => decodeFat32(bad)).toThrow(
      `Cannot decode FAT32 FAT at 0x${(32 * 512 + first * 4).toString(16)}: "EFI/BOOT/BOOTX64.EFI" is 70000 bytes but its chain has 4 clusters of 512`,
    );
  });
});

describe('errors', () => {
  it('says when the files do not fit', () => {
    expect(() => encodeFat32({ sizeBytes: 33 * MiB, files: [{ path: 'big', data: new Uint8Array(34 * MiB) }] })).toThrow(
      new RangeError('1 files (35651584 bytes) need 69633 clusters of 512 bytes; a 33 MiB FAT32 volume has 66512'),
    );
  });

  it('rejects colliding and invalid paths and labels', () => {
    const d = new Uint8Array(1);
    const enc = (files: { path: string; data: Uint8Array }[], label?: string) => () => encodeFat32({ sizeBytes: 33 * MiB, files, label });
    expect(
      enc([
        { path: 'EFI/a', data: d },
        { path: 'efi/b', data: d },
      ]),
    ).toThrow('FAT path "efi" collides with "EFI" (FAT names ignore case)');
    expect(
      enc([
        { path: 'A', data: d },
        { path: 'A', data: d },
      ]),
    ).toThrow('FAT path "A" is given twice');
    expect(
      enc([
        { path: 'A', data: d },
        { path: 'A/B', data: d },
      ]),
    ).toThrow('FAT path "A" is both a file and a directory');
    expect(enc([{ path: '/abs', data: d }])).toThrow('FAT path "/abs" is not valid: empty name');
    expect(enc([{ path: 'a?', data: d }])).toThrow(TypeError);
    expect(enc([], 'way too long label')).toThrow(/^FAT volume label "way too long label" is not valid/);
    expect(enc([], 'a.b')).toThrow(TypeError);
  });

  it('sizes a volume for the files', () => {
    expect(fat32SizeFor([{ path: 'x', data: new Uint8Array(1) }])).toBe(33 * MiB);
    const size = fat32SizeFor([{ path: 'big', data: new Uint8Array(300 * MiB) }], 4 * MiB);
    // 4 KiB clusters above 260 MiB: 76800 for the file, 1024 free, 1 for the root = 77825;
    // 304 MiB has 77667 clusters, 305 MiB 77921.
    expect(size).toBe(305 * MiB);
    expect(() => encodeFat32({ sizeBytes: size, files: [{ path: 'big', data: new Uint8Array(300 * MiB) }] })).not.toThrow();
  });
});
