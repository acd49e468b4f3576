/**
 * The EFI variable codecs against bytes written down from UEFI 2.10 field by field (not by the encoder), round
 * trips, and one flipped or missing byte → the exact error. The second judges — efibootmgr -v reading the variables
 * in a booted guest, OVMF booting the entry — come with the update stage that writes them (device/update).
 */
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../decode-error.ts';
import { decodeDevicePath, encodeDevicePath, type DevicePathNode } from './device-path.ts';
import { decodeLoadOption, encodeLoadOption, LOAD_OPTION_ACTIVE, type LoadOption } from './load-option.ts';
import {
  BOOT_VARIABLE_ATTRIBUTES,
  bootEntryName,
  decodeBootNext,
  decodeBootOrder,
  decodeEfivarfsFile,
  efivarfsName,
  encodeBootNext,
  encodeBootOrder,
  encodeEfivarfsFile,
} from './variables.ts';

const hex = (text: string) => Uint8Array.from(Buffer.from(text.replace(/\s+|\/\/[^\n]*/g, ''), 'hex'));
const ucs2 = (text: string) => Buffer.from(`${text}\0`, 'utf16le').toString('hex');

const ENTRY: LoadOption = {
  attributes: LOAD_OPTION_ACTIVE,
  description: 'kiln A',
  filePath: [
    { kind: 'hard-drive', partitionNumber: 1, startLba: 2048, sizeLba: 131072, partitionGuid: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B' },
    { kind: 'file', path: '\\EFI\\BOOT\\BOOTX64.EFI' },
  ],
  optionalData: new Uint8Array(),
};

const GOLDEN = hex(`
  01000000                          // Attributes: LOAD_OPTION_ACTIVE
  5e00                              // FilePathListLength: 42 + 48 + 4 = 94
  ${ucs2('kiln A')}                 // Description, CHAR16 + NUL
  04 01 2a00                        // Media / Hard Drive, length 42
  01000000                          // PartitionNumber 1
  0008000000000000                  // PartitionStart 2048
  0000020000000000                  // PartitionSize 131072
  28732ac11ff8d211ba4b00a0c93ec93b  // PartitionSignature, mixed-endian GUID
  02 02                             // MBRType GPT, SignatureType GUID
  04 04 3000                        // Media / File Path, length 4 + 44
  ${ucs2('\\EFI\\BOOT\\BOOTX64.EFI')}
  7f ff 0400                        // End Entire Device Path
`);

describe('EFI_LOAD_OPTION', () => {
  it('encodes a boot entry as UEFI lays it out', () => {
    expect(Buffer.from(encodeLoadOption(ENTRY)).toString('hex')).toBe(Buffer.from(GOLDEN).toString('hex'));
  });

  it('decodes what it encodes, optional data and unknown nodes included', () => {
    expect(decodeLoadOption(GOLDEN)).toEqual(ENTRY);
    const other: DevicePathNode = { kind: 'other', type: 0x03, subType: 0x0b, data: Uint8Array.of(1, 2, 3, 4, 5, 6) }; // a MAC node
    const withExtra = { ...ENTRY, filePath: [other, ...ENTRY.filePath], optionalData: Uint8Array.of(0xaa, 0xbb) };
    expect(decodeLoadOption(encodeLoadOption(withExtra))).toEqual(withExtra);
  });

  it('says where a damaged entry stops making sense', () => {
    const cut = (n: number) => GOLDEN.subarray(0, GOLDEN.length - n);
    expect(() => decodeLoadOption(GOLDEN.subarray(0, 7))).toThrow(new DecodeError('EFI', 'load option', 0, '7 bytes, need at least 8'));
    expect(() => decodeLoadOption(cut(4))).toThrow('Cannot decode EFI load option at 0x4: FilePathListLength 94 runs past the end (90 bytes left)');
    const noEnd = GOLDEN.slice();
    noEnd[noEnd.length - 4] = 0x04; // the end node (@0x6e) turned into a Media node: the list runs out at 0x72 (114 bytes)
    expect(() => decodeLoadOption(noEnd)).toThrow('Cannot decode EFI device path at 0x72: 0 bytes left, a node header needs 4 (no end node)');
    const long = GOLDEN.slice();
    long[20 + 2] = 0xff; // the Hard Drive node's length, low byte: 0x2a → 0xff
    expect(() => decodeLoadOption(long)).toThrow('Cannot decode EFI device path at 0x14: node length 255 outside 4-94');
  });

  it('refuses what UCS-2 cannot hold and numbers that do not fit', () => {
    expect(() => encodeLoadOption({ ...ENTRY, description: 'kiln 🔥' })).toThrow(TypeError);
    expect(() => encodeDevicePath([{ ...(ENTRY.filePath[0] as Extract<DevicePathNode, { kind: 'hard-drive' }>), startLba: -1 }])).toThrow(RangeError);
    expect(decodeDevicePath(encodeDevicePath([]))).toEqual([]);
  });
});

describe('efivarfs variables', () => {
  it('names, attributes, BootOrder and BootNext', () => {
    expect(bootEntryName(0x1f)).toBe('Boot001F');
    expect(efivarfsName('BootNext')).toBe('BootNext-8be4df61-93ca-11d2-aa0d-00e098032b8c');
    expect(Buffer.from(encodeEfivarfsFile({ attributes: BOOT_VARIABLE_ATTRIBUTES, data: encodeBootNext(1) })).toString('hex')).toBe('070000000100');
    expect(Buffer.from(encodeBootOrder([1, 0, 0x1f])).toString('hex')).toBe('010000001f00');
    expect(decodeBootOrder(hex('010000001f00'))).toEqual([1, 0, 0x1f]);
    expect(decodeEfivarfsFile(hex('07000000 0200'))).toEqual({ attributes: 7, data: hex('0200') });
    expect(decodeBootNext(hex('0200'))).toBe(2);
  });

  it('refuses values of the wrong size', () => {
    expect(() => decodeBootOrder(hex('010000'))).toThrow('Cannot decode EFI BootOrder at 0x2: 3 bytes: not a whole number of UINT16');
    expect(() => decodeBootNext(hex('010000'))).toThrow('Cannot decode EFI BootNext at 0x0: 3 bytes, want 2');
    expect(() => decodeEfivarfsFile(hex('0700'))).toThrow('Cannot decode efivarfs file at 0x0: 2 bytes, the attributes alone need 4');
    expect(() => bootEntryName(0x10000)).toThrow(RangeError);
  });
});
