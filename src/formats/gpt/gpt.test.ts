import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeGpt, decodeGptHead as decodeGptHeadFn } from './decode.js';
import { chsOf, encodeGpt } from './encode.js';
import { GptPartitionType, readGuid, seededGuid, writeGuid } from './guid.js';
import type { EncodedGpt, GptLayout } from './types.js';

const MiB = 1024 * 1024;
const DISK_GUID = '01234567-89AB-CDEF-0123-456789ABCDEF';
const ESP_GUID = 'AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE';

/** Lays head and tail onto a zeroed disk, as the disk writer does. */
function assemble(gpt: EncodedGpt): Uint8Array {
  const disk = new Uint8Array(gpt.diskSizeBytes);
  disk.set(gpt.head, 0);
  disk.set(gpt.tail, gpt.tailOffset);
  return disk;
}

const small: GptLayout = {
  diskSizeBytes: 4 * MiB,
  diskGuid: DISK_GUID,
  partitions: [{ type: GptPartitionType.efiSystem, name: 'ESP', sizeBytes: 2 * MiB, guid: ESP_GUID }],
};

describe('GUIDs', () => {
  it('stores the first three groups little-endian and the rest as written', () => {
    const bytes = new Uint8Array(16);
    writeGuid(bytes, 0, GptPartitionType.efiSystem);
    expect(Buffer.from(bytes).toString('hex')).toBe('28732ac11ff8d211ba4b00a0c93ec93b');
    expect(readGuid(bytes, 0)).toBe(GptPartitionType.efiSystem);
  });

  it('derives the same GUID from the same seed, a different one per purpose', () => {
    expect(seededGuid('s', 'disk')).toBe(seededGuid('s', 'disk'));
    expect(seededGuid('s', 'disk')).not.toBe(seededGuid('s', 'partition 1'));
    expect(seededGuid('s', 'disk')).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-8[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
    expect(seededGuid(undefined, 'disk')).not.toBe(seededGuid(undefined, 'disk'));
  });
});

describe('encodeGpt', () => {
  const gpt = encodeGpt(small);
  const view = new DataView(gpt.head.buffer);

  it('writes a protective MBR covering the disk', () => {
    const entry = gpt.head.subarray(446, 462);
    // status 00, first CHS 00 02 00, type EE, last CHS of LBA 8191 with 255 heads × 63 sectors:
    // cylinder 0, head 8191 / 63 = 130, sector 8191 % 63 + 1 = 2; first LBA 1; 8191 sectors
    expect(Buffer.from(entry).toString('hex')).toBe('00' + '000200' + 'ee' + '820200' + '01000000' + 'ff1f0000');
    expect(gpt.head.subarray(462, 510).every((b) => b === 0)).toBe(true);
    expect([gpt.head[510], gpt.head[511]]).toEqual([0x55, 0xaa]);
  });

  it('writes the primary header fields at LBA 1', () => {
    const h = 512;
    expect(new TextDecoder().decode(gpt.head.subarray(h, h + 8))).toBe('EFI PART');
    expect(view.getUint32(h + 8, true)).toBe(0x00010000);
    expect(view.getUint32(h + 12, true)).toBe(92);
    expect(view.getUint32(h + 20, true)).toBe(0);
    expect(view.getBigUint64(h + 24, true)).toBe(1n); // my LBA
    expect(view.getBigUint64(h + 32, true)).toBe(8191n); // backup header: last LBA of 4 MiB / 512
    expect(view.getBigUint64(h + 40, true)).toBe(34n); // MBR + header + 32 entry sectors
    expect(view.getBigUint64(h + 48, true)).toBe(8191n - 33n); // before the 32 backup entry sectors + backup header
    expect(readGuid(gpt.head, h + 56)).toBe(DISK_GUID);
    expect(view.getBigUint64(h + 72, true)).toBe(2n);
    expect(view.getUint32(h + 80, true)).toBe(128);
    expect(view.getUint32(h + 84, true)).toBe(128);
    expect(view.getUint32(h + 88, true)).toBe(crc32(gpt.head.subarray(1024, 1024 + 128 * 128)));
    const header = gpt.head.slice(h, h + 92);
    header.fill(0, 16, 20);
    expect(view.getUint32(h + 16, true)).toBe(crc32(header));
    expect(gpt.head.subarray(h + 92, h + 512).every((b) => b === 0)).toBe(true);
  });

  it('writes the partition entry: GUIDs, inclusive LBAs at 1 MiB, UTF-16LE name', () => {
    const e = 1024;
    expect(readGuid(gpt.head, e)).toBe(GptPartitionType.efiSystem);
    expect(readGuid(gpt.head, e + 16)).toBe(ESP_GUID);
    expect(view.getBigUint64(e + 32, true)).toBe(2048n);
    expect(view.getBigUint64(e + 40, true)).toBe(2048n + 4096n - 1n);
    expect(view.getBigUint64(e + 48, true)).toBe(0n);
    expect(Buffer.from(gpt.head.subarray(e + 56, e + 64)).toString('hex')).toBe('4500530050000000');
    expect(gpt.head.subarray(e + 128, 1024 + 128 * 128).every((b) => b === 0)).toBe(true);
    expect(gpt.partitions[0]).toMatchObject({ number: 1, offsetBytes: MiB, sizeBytes: 2 * MiB, firstLba: 2048, lastLba: 6143 });
  });

  it('mirrors header and entries at the end of the disk', () => {
    expect(gpt.tailOffset).toBe(4 * MiB - 33 * 512);
    expect(Buffer.compare(gpt.tail.subarray(0, 128 * 128), gpt.head.subarray(1024, 1024 + 128 * 128))).toBe(0);
    const tailView = new DataView(gpt.tail.buffer);
    const h = 32 * 512;
    expect(tailView.getBigUint64(h + 24, true)).toBe(8191n);
    expect(tailView.getBigUint64(h + 32, true)).toBe(1n);
    expect(tailView.getBigUint64(h + 72, true)).toBe(8191n - 32n);
    expect(tailView.getUint32(h + 88, true)).toBe(view.getUint32(512 + 88, true));
  });

  it('places partitions on 1 MiB boundaries and sizes the disk to whole MiB', () => {
    const gpt2 = encodeGpt({
      seed: 'x',
      partitions: [
        { type: GptPartitionType.efiSystem, name: 'ESP', sizeBytes: 3 * MiB + 512 },
        { type: GptPartitionType.linuxFilesystem, name: 'root', sizeBytes: 5 * MiB, attributes: 1n << 63n },
      ],
    });
    expect(gpt2.partitions.map((p) => p.offsetBytes)).toEqual([MiB, 5 * MiB]);
    expect(gpt2.diskSizeBytes).toBe(11 * MiB);
    expect(gpt2.diskGuid).toBe(seededGuid('x', 'disk'));
    expect(gpt2.partitions[1].guid).toBe(seededGuid('x', 'partition 2'));
    const again = () => encodeGpt({ ...small, diskGuid: undefined, seed: 'x' }).head;
    expect(Buffer.compare(again(), again())).toBe(0);
  });

  it('encodes CHS like gdisk and saturates past cylinder 1023', () => {
    expect(chsOf(16383)).toEqual([5, 4, 1]); // what sgdisk writes for an 8 MiB disk
    expect(chsOf(255 * 63 * 1024)).toEqual([0xff, 0xff, 0xff]);
  });
});

describe('decodeGpt', () => {
  it('round-trips a layout', () => {
    const layout: GptLayout = {
      seed: 'round-trip',
      diskSizeBytes: 20 * MiB,
      partitions: [
        { type: GptPartitionType.efiSystem, name: 'EFI system partition', sizeBytes: 4 * MiB },
        { type: GptPartitionType.linuxFilesystem, name: 'root-ä', sizeBytes: 8 * MiB, offsetBytes: 8 * MiB, attributes: 5n },
      ],
    };
    const gpt = encodeGpt(layout);
    const { head: _h, tail: _t, tailOffset: _o, ...table } = gpt;
    expect(decodeGpt(assemble(gpt))).toEqual(table);
  });

  it('reports a flipped byte in the primary header', () => {
    const disk = assemble(encodeGpt(small));
    disk[512 + 40] ^= 0x01; // first usable LBA
    expect(() => decodeGpt(disk)).toThrow('Cannot decode GPT header at 0x200: bad CRC 0x');
    expect(() => decodeGpt(disk)).toThrow(/^Cannot decode GPT header at 0x200: bad CRC 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}$/);
  });

  it('reports a flipped byte in the primary entries', () => {
    const disk = assemble(encodeGpt(small));
    disk[1024 + 56] ^= 0x20; // 'E' → 'e' in the name
    expect(() => decodeGpt(disk)).toThrow(/^Cannot decode GPT partition entries at 0x400: bad CRC 0x[0-9a-f]{8}, header says 0x[0-9a-f]{8}$/);
  });

  it('reports a flipped byte in the backup header and entries', () => {
    const gpt = encodeGpt(small);
    const disk = assemble(gpt);
    disk[disk.length - 512 + 60] ^= 0xff; // disk GUID
    expect(() => decodeGpt(disk)).toThrow(`Cannot decode GPT backup header at 0x${(4 * MiB - 512).toString(16)}: bad CRC`);
    const disk2 = assemble(gpt);
    disk2[gpt.tailOffset + 100] ^= 0xff;
    expect(() => decodeGpt(disk2)).toThrow(`Cannot decode GPT backup partition entries at 0x${gpt.tailOffset.toString(16)}: bad CRC`);
  });

  it('rejects a disk without the protective MBR', () => {
    const disk = assemble(encodeGpt(small));
    disk[510] = 0;
    expect(() => decodeGpt(disk)).toThrow('Cannot decode GPT protective MBR at 0x1fe: missing the 0x55 0xAA boot signature');
  });

  it('rejects a disk that was grown after the GPT was written', () => {
    const gpt = encodeGpt(small);
    const grown = new Uint8Array(gpt.diskSizeBytes + MiB);
    grown.set(assemble(gpt));
    expect(() => decodeGpt(grown)).toThrow("Cannot decode GPT header at 0x220: backup header LBA 8191 is not the disk's last LBA 10239");
  });
});

describe('layout errors', () => {
  const esp = { type: GptPartitionType.efiSystem, name: 'ESP', sizeBytes: 2 * MiB };

  it('says which partition does not fit', () => {
    expect(() => encodeGpt({ diskSizeBytes: 3 * MiB, partitions: [esp] })).toThrow(
      new RangeError('GPT partition 1 "ESP" (LBA 2048..6143) does not fit: the last usable LBA of a 3 MiB disk is 6110'),
    );
  });

  it('says which partitions overlap', () => {
    expect(() => encodeGpt({ partitions: [esp, { ...esp, name: 'root', offsetBytes: 2 * MiB }] })).toThrow(
      new RangeError('GPT partition 2 "root" (LBA 4096..8191) overlaps GPT partition 1 "ESP" (LBA 2048..6143)'),
    );
  });

  it('rejects partitions inside the primary GPT, odd sizes, long names, bad GUIDs', () => {
    expect(() => encodeGpt({ partitions: [{ ...esp, offsetBytes: 512 }] })).toThrow(
      'GPT partition 1 "ESP" (LBA 1..4096) starts inside the primary GPT (first usable LBA is 34)',
    );
    expect(() => encodeGpt({ partitions: [{ ...esp, sizeBytes: 1000 }] })).toThrow('GPT partition 1 "ESP" size must be a positive multiple of 512, not 1000');
    expect(() => encodeGpt({ partitions: [{ ...esp, name: 'x'.repeat(37) }] })).toThrow(TypeError);
    expect(() => encodeGpt({ partitions: [{ ...esp, type: 'C12A7328' }] })).toThrow('Not a GUID: "C12A7328"');
  });

  it('finds overlaps when decoding too', () => {
    const gpt = encodeGpt({ partitions: [esp, { ...esp, name: 'b' }] });
    const disk = assemble(gpt);
    // Rewrite entry 2 to start inside entry 1, then fix both CRCs so only the overlap is wrong.
    for (const [entries, header] of [
      [1024, 512],
      [gpt.tailOffset, disk.length - 512],
    ] as const) {
      const view = new DataView(disk.buffer);
      view.setBigUint64(entries + 128 + 32, 3000n, true);
      view.setUint32(header + 88, crc32(disk.subarray(entries, entries + 128 * 128)), true);
      view.setUint32(header + 16, 0, true);
      view.setUint32(header + 16, crc32(disk.subarray(header, header + 92)), true);
    }
    expect(() => decodeGpt(disk)).toThrow(
      'Cannot decode GPT partition entries at 0x400: GPT partition 2 "b" (LBA 3000..10239) overlaps GPT partition 1 "ESP" (LBA 2048..6143)',
    );
  });
});

describe('decodeGptHead (a disk too big to read whole)', () => {
  it('reads the same partitions from the first 34 sectors as decodeGpt from the whole disk', () => {
    const gpt = encodeGpt({
      ...small,
      diskSizeBytes: 8 * MiB,
      partitions: [...small.partitions, { type: GptPartitionType.linuxFilesystem, name: 'DATA', sizeBytes: MiB }],
    });
    const disk = assemble(gpt);
    expect(decodeGptHeadFn(disk.subarray(0, 34 * 512), disk.length)).toEqual(decodeGpt(disk));
  });

  it('decodes a Node Buffer (as read from a file) without changing it', () => {
    const disk = Buffer.from(assemble(encodeGpt(small)));
    const before = Buffer.from(disk);
    expect(decodeGptHeadFn(disk.subarray(0, 34 * 512), disk.length).partitions).toHaveLength(1);
    expect(decodeGpt(disk).partitions).toHaveLength(1);
    expect(disk.equals(before)).toBe(true);
  });

  it('checks the entries CRC, and that there is a head at all', () => {
    const disk = assemble(encodeGpt(small));
    const head = disk.slice(0, 34 * 512);
    head[2 * 512 + 56] ^= 1; // the first entry's name
    expect(() => decodeGptHeadFn(head, disk.length)).toThrow(/^Cannot decode GPT partition entries at 0x400: bad CRC/);
    expect(() => decodeGptHeadFn(disk.subarray(0, 512), disk.length)).toThrow(
      'Cannot decode GPT disk at 0x0: 512 bytes is shorter than a GPT head (34 sectors)',
    );
  });
});
