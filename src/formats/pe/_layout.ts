/**
 * The PE/COFF layout shared by the decoder and the section appender (Microsoft "PE Format" specification).
 *
 * A PE image is: a DOS header whose e_lfanew points at the "PE\0\0" signature, the COFF file header, the optional
 * header (PE32 or PE32+, ending in the data directories), the section table, then the sections' raw data.
 * All fields are little-endian.
 */

export const DOS_MAGIC = 0x5a4d; // "MZ"
export const PE_SIGNATURE = 0x0000_4550; // "PE\0\0" read as a little-endian u32
export const PE32_MAGIC = 0x10b;
export const PE32_PLUS_MAGIC = 0x20b;

export const DOS_HEADER_SIZE = 64;
export const SIGNATURE_SIZE = 4;
export const COFF_HEADER_SIZE = 20;
export const SECTION_HEADER_SIZE = 40;
export const SECTION_NAME_SIZE = 8;
export const DATA_DIRECTORY_SIZE = 8;
/** Index of the certificate table ("security directory"); its "RVA" is a file offset, not an RVA. */
export const CERTIFICATE_TABLE_INDEX = 4;
/** Each COFF symbol table record is 18 bytes; the string table follows, starting with its own u32 size. */
export const COFF_SYMBOL_SIZE = 18;

export const U32_MAX = 0xffff_ffff;

/** DOS header fields (only these two matter to a PE reader). */
export const DOS = {
  magic: 0x00, // e_magic (2) @0x00
  lfanew: 0x3c, // e_lfanew (4) @0x3c: file offset of the PE signature
} as const;

/** COFF file header, relative to its start (right after the signature). */
export const COFF = {
  machine: 0, // Machine (2) @0
  numberOfSections: 2, // NumberOfSections (2) @2
  timeDateStamp: 4, // TimeDateStamp (4) @4
  pointerToSymbolTable: 8, // PointerToSymbolTable (4) @8, 0 in a stripped image
  numberOfSymbols: 12, // NumberOfSymbols (4) @12
  sizeOfOptionalHeader: 16, // SizeOfOptionalHeader (2) @16
  characteristics: 18, // Characteristics (2) @18
} as const;

/** Optional header fields at the same offset in PE32 and PE32+. */
export const OPT = {
  magic: 0, // Magic (2) @0: 0x10b PE32, 0x20b PE32+
  sizeOfCode: 4, // SizeOfCode (4) @4
  sizeOfInitializedData: 8, // SizeOfInitializedData (4) @8
  addressOfEntryPoint: 16, // AddressOfEntryPoint (4) @16
  sectionAlignment: 32, // SectionAlignment (4) @32
  fileAlignment: 36, // FileAlignment (4) @36
  sizeOfImage: 56, // SizeOfImage (4) @56
  sizeOfHeaders: 60, // SizeOfHeaders (4) @60
  checkSum: 64, // CheckSum (4) @64
  subsystem: 68, // Subsystem (2) @68
  dllCharacteristics: 70, // DllCharacteristics (2) @70
} as const;

/**
 * Where the two variants differ: PE32 has BaseOfData and 4-byte ImageBase and stack/heap sizes, PE32+ drops
 * BaseOfData and widens those to 8 bytes, which moves NumberOfRvaAndSizes and the data directories.
 */
export const OPT_VARIANT = {
  [PE32_MAGIC]: {
    numberOfRvaAndSizes: 92, // NumberOfRvaAndSizes (4) @92
    dataDirectories: 96, // DataDirectory[] (8 each) @96
  },
  [PE32_PLUS_MAGIC]: {
    numberOfRvaAndSizes: 108, // NumberOfRvaAndSizes (4) @108
    dataDirectories: 112, // DataDirectory[] (8 each) @112
  },
} as const;

/** One section header, relative to its start in the section table. */
export const SECTION = {
  name: 0, // Name (8) @0, NUL-padded, not terminated when 8 long
  virtualSize: 8, // VirtualSize (4) @8
  virtualAddress: 12, // VirtualAddress (4) @12
  sizeOfRawData: 16, // SizeOfRawData (4) @16
  pointerToRawData: 20, // PointerToRawData (4) @20
  pointerToRelocations: 24, // PointerToRelocations (4) @24, 0 in images
  pointerToLinenumbers: 28, // PointerToLinenumbers (4) @28, 0 in images
  numberOfRelocations: 32, // NumberOfRelocations (2) @32
  numberOfLinenumbers: 34, // NumberOfLinenumbers (2) @34
  characteristics: 36, // Characteristics (4) @36
} as const;

/** COFF header Characteristics bit set when the image carries no COFF symbol table. */
export const IMAGE_FILE_LOCAL_SYMS_STRIPPED = 0x0008;

/** Section Characteristics bits. */
export const IMAGE_SCN_CNT_CODE = 0x0000_0020;
export const IMAGE_SCN_CNT_INITIALIZED_DATA = 0x0000_0040;
export const IMAGE_SCN_MEM_EXECUTE = 0x2000_0000;
export const IMAGE_SCN_MEM_READ = 0x4000_0000;

/** Machine types kiln builds for (COFF header Machine). */
export const IMAGE_FILE_MACHINE_AMD64 = 0x8664;
export const IMAGE_FILE_MACHINE_ARM64 = 0xaa64;

/** Optional header Subsystem of a UEFI application (what a UKI and its stub must be). */
export const IMAGE_SUBSYSTEM_EFI_APPLICATION = 10;

export function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

export function hex(value: number): string {
  return `0x${value.toString(16)}`;
}
