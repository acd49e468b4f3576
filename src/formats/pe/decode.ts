import { DecodeError } from '../../util/errors.js';
import {
  CERTIFICATE_TABLE_INDEX,
  COFF,
  COFF_HEADER_SIZE,
  DATA_DIRECTORY_SIZE,
  DOS,
  DOS_HEADER_SIZE,
  DOS_MAGIC,
  hex,
  OPT,
  OPT_VARIANT,
  PE32_MAGIC,
  PE32_PLUS_MAGIC,
  PE_SIGNATURE,
  SECTION,
  SECTION_HEADER_SIZE,
  SECTION_NAME_SIZE,
  SIGNATURE_SIZE,
} from './_layout.js';

export interface PeSection {
  /** Up to 8 bytes, trailing NULs removed. */
  name: string;
  virtualSize: number;
  virtualAddress: number;
  sizeOfRawData: number;
  pointerToRawData: number;
  characteristics: number;
  /** File offset of this section's 40-byte header in the section table. */
  headerOffset: number;
}

export interface PeDataDirectory {
  virtualAddress: number;
  size: number;
}

/** The parts of a PE/COFF image kiln reads, plus where the fields the section appender patches live. */
export interface PeImage {
  machine: number;
  /** COFF header Characteristics. */
  characteristics: number;
  magic: typeof PE32_MAGIC | typeof PE32_PLUS_MAGIC;
  subsystem: number;
  fileAlignment: number;
  sectionAlignment: number;
  sizeOfImage: number;
  sizeOfHeaders: number;
  sizeOfInitializedData: number;
  checkSum: number;
  numberOfSections: number;
  pointerToSymbolTable: number;
  numberOfSymbols: number;
  sections: PeSection[];
  /** As many entries as NumberOfRvaAndSizes says (often 16, the x86 kernel has 6). */
  dataDirectories: PeDataDirectory[];
  /** Data directory 4; `offset` is a file offset. `{ offset: 0, size: 0 }` when the image is not signed. */
  certificateTable: { offset: number; size: number };
  /** File offsets of the headers: signature + 4 = COFF header, + 20 = optional header. */
  offsets: { coffHeader: number; optionalHeader: number; sectionTable: number };
}

/**
 * Decodes the headers and section table of a PE/COFF image (an EFI application, a kernel with EFI stub).
 * Reads only; section data stays in `bytes` at each section's `pointerToRawData`.
 *
 * @example
 * const pe = decodePe(await readFile('linuxx64.efi.stub'));
 * pe.machine === 0x8664; pe.sections.map((s) => s.name); // ['.text', '.reloc', ...]
 */
export function decodePe(bytes: Uint8Array): PeImage {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (what: string, offset: number, reason: string): never => {
    throw new DecodeError('PE', what, offset, reason);
  };

  if (bytes.length < DOS_HEADER_SIZE) {
    fail('DOS header', 0, `truncated: ${bytes.length} bytes, need ${DOS_HEADER_SIZE}`);
  }
  const dosMagic = view.getUint16(DOS.magic, true);
  if (dosMagic !== DOS_MAGIC) fail('DOS header', DOS.magic, `bad magic ${hex(dosMagic)} (expected 0x5a4d "MZ")`);
  const signatureOffset = view.getUint32(DOS.lfanew, true);
  if (signatureOffset + SIGNATURE_SIZE + COFF_HEADER_SIZE > bytes.length) {
    fail('DOS header', DOS.lfanew, `e_lfanew ${hex(signatureOffset)} leaves no room for the PE headers in ${bytes.length} bytes`);
  }

  const signature = view.getUint32(signatureOffset, true);
  if (signature !== PE_SIGNATURE) {
    fail('header', signatureOffset, `bad signature ${hexBytes(bytes, signatureOffset, SIGNATURE_SIZE)} (expected 50 45 00 00 "PE\\0\\0")`);
  }

  // COFF file header
  const coff = signatureOffset + SIGNATURE_SIZE;
  const machine = view.getUint16(coff + COFF.machine, true);
  const numberOfSections = view.getUint16(coff + COFF.numberOfSections, true);
  const pointerToSymbolTable = view.getUint32(coff + COFF.pointerToSymbolTable, true);
  const numberOfSymbols = view.getUint32(coff + COFF.numberOfSymbols, true);
  const sizeOfOptionalHeader = view.getUint16(coff + COFF.sizeOfOptionalHeader, true);
  const characteristics = view.getUint16(coff + COFF.characteristics, true);

  // Optional header: the fixed part up to NumberOfRvaAndSizes must be there, then the directories it counts.
  const opt = coff + COFF_HEADER_SIZE;
  const sectionTable = opt + sizeOfOptionalHeader;
  if (sizeOfOptionalHeader < 2 || sectionTable > bytes.length) {
    fail('COFF header', coff + COFF.sizeOfOptionalHeader, `SizeOfOptionalHeader ${sizeOfOptionalHeader} does not fit the file (${bytes.length} bytes)`);
  }
  const magic = view.getUint16(opt + OPT.magic, true);
  if (magic !== PE32_MAGIC && magic !== PE32_PLUS_MAGIC) {
    fail('optional header', opt + OPT.magic, `bad magic ${hex(magic)} (expected 0x10b PE32 or 0x20b PE32+)`);
  }
  const variant = OPT_VARIANT[magic as typeof PE32_MAGIC | typeof PE32_PLUS_MAGIC];
  if (sizeOfOptionalHeader < variant.dataDirectories) {
    fail(
      'COFF header',
      coff + COFF.sizeOfOptionalHeader,
      `SizeOfOptionalHeader ${sizeOfOptionalHeader} is too small for a ${magic === PE32_MAGIC ? 'PE32' : 'PE32+'} optional header (${variant.dataDirectories} bytes before the data directories)`,
    );
  }
  const numberOfRvaAndSizes = view.getUint32(opt + variant.numberOfRvaAndSizes, true);
  if (variant.dataDirectories + numberOfRvaAndSizes * DATA_DIRECTORY_SIZE > sizeOfOptionalHeader) {
    fail(
      'optional header',
      opt + variant.numberOfRvaAndSizes,
      `NumberOfRvaAndSizes ${numberOfRvaAndSizes} overruns SizeOfOptionalHeader ${sizeOfOptionalHeader}`,
    );
  }
  const fileAlignment = view.getUint32(opt + OPT.fileAlignment, true);
  if (!isPowerOfTwo(fileAlignment)) {
    fail('optional header', opt + OPT.fileAlignment, `FileAlignment ${hex(fileAlignment)} is not a power of two`);
  }
  const sectionAlignment = view.getUint32(opt + OPT.sectionAlignment, true);
  if (!isPowerOfTwo(sectionAlignment)) {
    fail('optional header', opt + OPT.sectionAlignment, `SectionAlignment ${hex(sectionAlignment)} is not a power of two`);
  }

  const dataDirectories: PeDataDirectory[] = [];
  for (let i = 0; i < numberOfRvaAndSizes; i++) {
    const at = opt + variant.dataDirectories + i * DATA_DIRECTORY_SIZE;
    dataDirectories.push({
      virtualAddress: view.getUint32(at, true), // VirtualAddress (4) @0
      size: view.getUint32(at + 4, true), // Size (4) @4
    });
  }
  const security = dataDirectories[CERTIFICATE_TABLE_INDEX];
  const certificateTable = security === undefined ? { offset: 0, size: 0 } : { offset: security.virtualAddress, size: security.size };

  // Section table
  if (sectionTable + numberOfSections * SECTION_HEADER_SIZE > bytes.length) {
    fail('section table', sectionTable, `${numberOfSections} section headers run past the end of the file (${bytes.length} bytes)`);
  }
  const sections: PeSection[] = [];
  for (let i = 0; i < numberOfSections; i++) {
    const at = sectionTable + i * SECTION_HEADER_SIZE;
    const section: PeSection = {
      name: decodeName(bytes.subarray(at + SECTION.name, at + SECTION.name + SECTION_NAME_SIZE)),
      virtualSize: view.getUint32(at + SECTION.virtualSize, true),
      virtualAddress: view.getUint32(at + SECTION.virtualAddress, true),
      sizeOfRawData: view.getUint32(at + SECTION.sizeOfRawData, true),
      pointerToRawData: view.getUint32(at + SECTION.pointerToRawData, true),
      characteristics: view.getUint32(at + SECTION.characteristics, true),
      headerOffset: at,
    };
    if (section.sizeOfRawData > 0 && section.pointerToRawData + section.sizeOfRawData > bytes.length) {
      fail(
        'section table',
        at + SECTION.sizeOfRawData,
        `section "${section.name}" raw data ${hex(section.pointerToRawData)}+${hex(section.sizeOfRawData)} runs past the end of the file (${bytes.length} bytes)`,
      );
    }
    sections.push(section);
  }

  return {
    machine,
    characteristics,
    magic: magic as typeof PE32_MAGIC | typeof PE32_PLUS_MAGIC,
    subsystem: view.getUint16(opt + OPT.subsystem, true),
    fileAlignment,
    sectionAlignment,
    sizeOfImage: view.getUint32(opt + OPT.sizeOfImage, true),
    sizeOfHeaders: view.getUint32(opt + OPT.sizeOfHeaders, true),
    sizeOfInitializedData: view.getUint32(opt + OPT.sizeOfInitializedData, true),
    checkSum: view.getUint32(opt + OPT.checkSum, true),
    numberOfSections,
    pointerToSymbolTable,
    numberOfSymbols,
    sections,
    dataDirectories,
    certificateTable,
    offsets: { coffHeader: coff, optionalHeader: opt, sectionTable },
  };
}

function decodeName(raw: Uint8Array): string {
  const end = raw.indexOf(0);
  return new TextDecoder().decode(end === -1 ? raw : raw.subarray(0, end));
}

function isPowerOfTwo(value: number): boolean {
  return value > 0 && (value & (value - 1)) === 0;
}

function hexBytes(bytes: Uint8Array, offset: number, length: number): string {
  return Array.from(bytes.subarray(offset, offset + length), (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/**
 * The bytes a section holds in the file, without the padding to FileAlignment (its VirtualSize when that is
 * smaller than its raw data); undefined when there is no such section. The twin of the ELF codec's sectionBytes.
 * @example new TextDecoder().decode(peSectionBytes(uki, decodePe(uki), '.osrel'))
 */
export function peSectionBytes(bytes: Uint8Array, pe: PeImage, name: string): Uint8Array | undefined {
  const s = pe.sections.find((x) => x.name === name);
  return s === undefined ? undefined : bytes.subarray(s.pointerToRawData, s.pointerToRawData + Math.min(s.virtualSize, s.sizeOfRawData));
}
