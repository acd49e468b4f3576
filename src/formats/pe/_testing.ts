/**
 * Test support: writes a tiny PE image field by field, independently of the codec under test, so tests can make
 * stubs and fake kernels of any shape. objdump(1) checks these images in decode.test.ts.
 */

export interface TinySection {
  name: string;
  virtualAddress: number;
  virtualSize: number;
  data: Uint8Array;
  characteristics: number;
}

export interface TinyPeOptions {
  /** @default 0x8664 (x86_64) */
  machine?: number;
  /** @default 0x20b (PE32+) */
  magic?: 0x10b | 0x20b;
  /** @default 10 (EFI application) */
  subsystem?: number;
  /** @default 0x1000 */
  sectionAlignment?: number;
  /** @default 0x200 */
  fileAlignment?: number;
  /** @default 0x200; section data starts at this, rounded up to fileAlignment */
  sizeOfHeaders?: number;
  /** @default end of the last section rounded up to sectionAlignment */
  sizeOfImage?: number;
  /** @default 16 */
  numberOfRvaAndSizes?: number;
  /** @default one ".text" of 16 bytes at 0x1000 */
  sections?: TinySection[];
  /** Data directory 4. */
  certificateTable?: { offset: number; size: number };
  /** Raw COFF symbol records (18 bytes each) + string table, appended after the last section. */
  symbolTable?: { count: number; bytes: Uint8Array };
}

export const TINY_E_LFANEW = 0x40;
export const TINY_SECTION_TABLE = 0x148; // PE32+ with 16 data directories: 0x40 + 4 + 20 + 240

export function defaultText(): TinySection {
  return {
    name: '.text',
    virtualAddress: 0x1000,
    virtualSize: 0x10,
    data: Uint8Array.from({ length: 0x10 }, (_, i) => 0xc0 + i),
    characteristics: 0x6000_0020, // CNT_CODE | MEM_EXECUTE | MEM_READ
  };
}

export function buildTinyPe(options: TinyPeOptions = {}): Uint8Array {
  const magic = options.magic ?? 0x20b;
  const fileAlignment = options.fileAlignment ?? 0x200;
  const sectionAlignment = options.sectionAlignment ?? 0x1000;
  const sizeOfHeaders = options.sizeOfHeaders ?? 0x200;
  const directories = options.numberOfRvaAndSizes ?? 16;
  const sections = options.sections ?? [defaultText()];
  const up = (v: number, a: number) => Math.ceil(v / a) * a;

  const fixedOptional = magic === 0x20b ? 112 : 96;
  const sizeOfOptionalHeader = fixedOptional + 8 * directories;
  const coff = TINY_E_LFANEW + 4;
  const opt = coff + 20;
  const table = opt + sizeOfOptionalHeader;

  let cursor = up(sizeOfHeaders, fileAlignment);
  const placed = sections.map((s) => {
    const p = { ...s, pointerToRawData: cursor, sizeOfRawData: up(s.data.length, fileAlignment) };
    cursor += p.sizeOfRawData;
    return p;
  });
  const symbolTableAt = options.symbolTable ? cursor : 0;
  const length = cursor + (options.symbolTable?.bytes.length ?? 0);
  const last = sections[sections.length - 1];
  const sizeOfImage = options.sizeOfImage ?? up(last ? last.virtualAddress + last.virtualSize : sizeOfHeaders, sectionAlignment);

  const b = new Uint8Array(length);
  const v = new DataView(b.buffer);
  // DOS header
  v.setUint16(0x00, 0x5a4d, true); // e_magic (2) @0x00 "MZ"
  v.setUint32(0x3c, TINY_E_LFANEW, true); // e_lfanew (4) @0x3c
  // PE signature
  b.set([0x50, 0x45, 0, 0], TINY_E_LFANEW); // "PE\0\0" (4) @0x40
  // COFF header
  v.setUint16(coff + 0, options.machine ?? 0x8664, true); // Machine (2) @0
  v.setUint16(coff + 2, sections.length, true); // NumberOfSections (2) @2
  v.setUint32(coff + 8, symbolTableAt, true); // PointerToSymbolTable (4) @8
  v.setUint32(coff + 12, options.symbolTable?.count ?? 0, true); // NumberOfSymbols (4) @12
  v.setUint16(coff + 16, sizeOfOptionalHeader, true); // SizeOfOptionalHeader (2) @16
  v.setUint16(coff + 18, 0x0206, true); // Characteristics (2) @18: EXECUTABLE_IMAGE | LINE_NUMS_STRIPPED | DEBUG_STRIPPED
  // Optional header
  v.setUint16(opt + 0, magic, true); // Magic (2) @0
  b[opt + 2] = 2; // MajorLinkerVersion (1) @2
  v.setUint32(opt + 4, 0x200, true); // SizeOfCode (4) @4
  v.setUint32(opt + 8, 0x400, true); // SizeOfInitializedData (4) @8
  v.setUint32(opt + 16, 0x1000, true); // AddressOfEntryPoint (4) @16
  v.setUint32(opt + 20, 0x1000, true); // BaseOfCode (4) @20
  v.setUint32(opt + 32, sectionAlignment, true); // SectionAlignment (4) @32
  v.setUint32(opt + 36, fileAlignment, true); // FileAlignment (4) @36
  v.setUint32(opt + 56, sizeOfImage, true); // SizeOfImage (4) @56
  v.setUint32(opt + 60, sizeOfHeaders, true); // SizeOfHeaders (4) @60
  v.setUint32(opt + 64, 0x1234, true); // CheckSum (4) @64: nonzero so tests see it cleared
  v.setUint16(opt + 68, options.subsystem ?? 10, true); // Subsystem (2) @68
  v.setUint32(opt + fixedOptional - 4, directories, true); // NumberOfRvaAndSizes (4) @108 (PE32+) / @92 (PE32)
  if (options.certificateTable) {
    v.setUint32(opt + fixedOptional + 4 * 8, options.certificateTable.offset, true); // DataDirectory[4].VirtualAddress
    v.setUint32(opt + fixedOptional + 4 * 8 + 4, options.certificateTable.size, true); // DataDirectory[4].Size
  }
  // Section table and data
  placed.forEach((s, i) => {
    const at = table + 40 * i;
    b.set(new TextEncoder().encode(s.name), at); // Name (8) @0
    v.setUint32(at + 8, s.virtualSize, true); // VirtualSize (4) @8
    v.setUint32(at + 12, s.virtualAddress, true); // VirtualAddress (4) @12
    v.setUint32(at + 16, s.sizeOfRawData, true); // SizeOfRawData (4) @16
    v.setUint32(at + 20, s.pointerToRawData, true); // PointerToRawData (4) @20
    v.setUint32(at + 36, s.characteristics >>> 0, true); // Characteristics (4) @36
    b.set(s.data, s.pointerToRawData);
  });
  if (options.symbolTable) b.set(options.symbolTable.bytes, symbolTableAt);
  return b;
}
