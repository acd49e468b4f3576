/**
 * The ELF layout shared by the header, segment, section and dynamic decoders (System V gABI, "ELF Object File
 * Format"; <elf.h>).
 *
 * An ELF file is: a 16-byte identification (magic, class, data encoding), the rest of the file header, and two
 * optional tables the header points at: program headers (segments, what the loader maps) and section headers
 * (what the linker and tools see). Stripped files may have no section headers; relocatable objects (kernel
 * modules) have no program headers. Field widths depend on the class (ELF32/ELF64), byte order on EI_DATA.
 */

export const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46] as const; // "\x7fELF"
export const EI_NIDENT = 16;

/** e_ident fields. */
export const IDENT = {
  magic: 0, // EI_MAG0..3 (4) @0
  class: 4, // EI_CLASS (1) @4
  data: 5, // EI_DATA (1) @5
  version: 6, // EI_VERSION (1) @6
  osabi: 7, // EI_OSABI (1) @7
} as const;

export const ELFCLASS32 = 1;
export const ELFCLASS64 = 2;
export const ELFDATA2LSB = 1;
export const ELFDATA2MSB = 2;

// e_type
export const ET_REL = 1;
export const ET_EXEC = 2;
export const ET_DYN = 3;
export const ET_CORE = 4;

// e_machine (the ones kiln cares about; any value is accepted)
export const EM_386 = 3;
export const EM_ARM = 40;
export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;
export const EM_RISCV = 243;

// p_type
export const PT_LOAD = 1;
export const PT_DYNAMIC = 2;
export const PT_INTERP = 3;

// sh_type
export const SHT_NULL = 0;
export const SHT_PROGBITS = 1;
export const SHT_STRTAB = 3;
export const SHT_DYNAMIC = 6;
/** Occupies no file space (.bss): sh_offset/sh_size describe memory only. */
export const SHT_NOBITS = 8;
export const SHT_RELA = 4;
export const SHT_REL = 9;

// sh_flags
/** The section occupies memory while the program runs: the loader (through a segment) or the program uses it. */
export const SHF_ALLOC = 0x2;
/** sh_info holds a section header index. */
export const SHF_INFO_LINK = 0x40;

// d_tag
export const DT_NULL = 0;
export const DT_NEEDED = 1;
export const DT_STRTAB = 5;
export const DT_STRSZ = 10;
export const DT_SONAME = 14;
export const DT_RPATH = 15;
export const DT_RUNPATH = 29;

// Extended numbering: when a count or index does not fit the 16-bit header field, the header holds one of these
// and the real value lives in section header 0 (gABI "Sections", "Extended Section Numbering").
/** e_phnum escape: the real count is section 0's sh_info. */
export const PN_XNUM = 0xffff;
/** e_shstrndx escape: the real index is section 0's sh_link. */
export const SHN_XINDEX = 0xffff;
export const SHN_UNDEF = 0;
/** Section indices from here up are reserved: a count or index this large needs extended numbering. */
export const SHN_LORESERVE = 0xff00;

/** Where each field sits in one class's structures, and how big those structures are. */
export interface ClassLayout {
  readonly class: 32 | 64;
  readonly ehdrSize: number;
  readonly phdrSize: number;
  readonly shdrSize: number;
  readonly dynSize: number;
  /** Size of an address/offset/Xword: 4 in ELF32, 8 in ELF64. */
  readonly wordSize: 4 | 8;
  readonly ehdr: {
    readonly type: number;
    readonly machine: number;
    readonly version: number;
    readonly entry: number;
    readonly phoff: number;
    readonly shoff: number;
    readonly flags: number;
    readonly ehsize: number;
    readonly phentsize: number;
    readonly phnum: number;
    readonly shentsize: number;
    readonly shnum: number;
    readonly shstrndx: number;
  };
  readonly phdr: {
    readonly type: number;
    readonly flags: number;
    readonly offset: number;
    readonly vaddr: number;
    readonly paddr: number;
    readonly filesz: number;
    readonly memsz: number;
    readonly align: number;
  };
  readonly shdr: {
    readonly name: number;
    readonly type: number;
    readonly flags: number;
    readonly addr: number;
    readonly offset: number;
    readonly size: number;
    readonly link: number;
    readonly info: number;
    readonly addralign: number;
    readonly entsize: number;
  };
  readonly dyn: { readonly tag: number; readonly val: number };
}

export const LAYOUT64: ClassLayout = {
  class: 64,
  ehdrSize: 64,
  phdrSize: 56,
  shdrSize: 64,
  dynSize: 16,
  wordSize: 8,
  ehdr: {
    type: 16, // e_type (2) @16
    machine: 18, // e_machine (2) @18
    version: 20, // e_version (4) @20
    entry: 24, // e_entry (8) @24
    phoff: 32, // e_phoff (8) @32
    shoff: 40, // e_shoff (8) @40
    flags: 48, // e_flags (4) @48
    ehsize: 52, // e_ehsize (2) @52
    phentsize: 54, // e_phentsize (2) @54
    phnum: 56, // e_phnum (2) @56
    shentsize: 58, // e_shentsize (2) @58
    shnum: 60, // e_shnum (2) @60
    shstrndx: 62, // e_shstrndx (2) @62
  },
  phdr: {
    type: 0, // p_type (4) @0
    flags: 4, // p_flags (4) @4
    offset: 8, // p_offset (8) @8
    vaddr: 16, // p_vaddr (8) @16
    paddr: 24, // p_paddr (8) @24
    filesz: 32, // p_filesz (8) @32
    memsz: 40, // p_memsz (8) @40
    align: 48, // p_align (8) @48
  },
  shdr: {
    name: 0, // sh_name (4) @0
    type: 4, // sh_type (4) @4
    flags: 8, // sh_flags (8) @8
    addr: 16, // sh_addr (8) @16
    offset: 24, // sh_offset (8) @24
    size: 32, // sh_size (8) @32
    link: 40, // sh_link (4) @40
    info: 44, // sh_info (4) @44
    addralign: 48, // sh_addralign (8) @48
    entsize: 56, // sh_entsize (8) @56
  },
  dyn: {
    tag: 0, // d_tag (8, signed) @0
    val: 8, // d_val / d_ptr (8) @8
  },
};

export const LAYOUT32: ClassLayout = {
  class: 32,
  ehdrSize: 52,
  phdrSize: 32,
  shdrSize: 40,
  dynSize: 8,
  wordSize: 4,
  ehdr: {
    type: 16, // e_type (2) @16
    machine: 18, // e_machine (2) @18
    version: 20, // e_version (4) @20
    entry: 24, // e_entry (4) @24
    phoff: 28, // e_phoff (4) @28
    shoff: 32, // e_shoff (4) @32
    flags: 36, // e_flags (4) @36
    ehsize: 40, // e_ehsize (2) @40
    phentsize: 42, // e_phentsize (2) @42
    phnum: 44, // e_phnum (2) @44
    shentsize: 46, // e_shentsize (2) @46
    shnum: 48, // e_shnum (2) @48
    shstrndx: 50, // e_shstrndx (2) @50
  },
  phdr: {
    // ELF32 puts p_flags after p_memsz; ELF64 moved it up for alignment.
    type: 0, // p_type (4) @0
    offset: 4, // p_offset (4) @4
    vaddr: 8, // p_vaddr (4) @8
    paddr: 12, // p_paddr (4) @12
    filesz: 16, // p_filesz (4) @16
    memsz: 20, // p_memsz (4) @20
    flags: 24, // p_flags (4) @24
    align: 28, // p_align (4) @28
  },
  shdr: {
    name: 0, // sh_name (4) @0
    type: 4, // sh_type (4) @4
    flags: 8, // sh_flags (4) @8
    addr: 12, // sh_addr (4) @12
    offset: 16, // sh_offset (4) @16
    size: 20, // sh_size (4) @20
    link: 24, // sh_link (4) @24
    info: 28, // sh_info (4) @28
    addralign: 32, // sh_addralign (4) @32
    entsize: 36, // sh_entsize (4) @36
  },
  dyn: {
    tag: 0, // d_tag (4, signed) @0
    val: 4, // d_val / d_ptr (4) @4
  },
};
