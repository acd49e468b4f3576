/**
 * ELF reader: identity, program interpreter, dynamic dependencies and section headers of executables, shared
 * objects and kernel modules (ELF32/ELF64, either byte order), plus a kernel module's `.modinfo`; and a stripper
 * for executables and shared objects (what the loader maps, and nothing else).
 */
export { decodeElf, isElf, sectionBytes, type ElfInfo, type ElfSection } from './decode.js';
export { decodeModinfo } from './modinfo.js';
export { stripElf } from './strip.js';
export {
  EM_386,
  EM_AARCH64,
  EM_ARM,
  EM_RISCV,
  EM_X86_64,
  ET_CORE,
  ET_DYN,
  ET_EXEC,
  ET_REL,
  SHT_NOBITS,
  SHT_NULL,
  SHT_PROGBITS,
  SHT_STRTAB,
} from './_layout.js';
