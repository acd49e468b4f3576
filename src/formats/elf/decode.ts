import { DecodeError } from '../../util/errors.js';
import { decodeDynamic, decodeInterp } from './_dynamic.js';
import { decodeHeader, looksLikeElf } from './_header.js';
import { SHT_NOBITS } from './_layout.js';
import { hex } from './_reader.js';
import { decodeSections } from './_sections.js';
import { decodeSegments } from './_segments.js';

/** One section header, its name resolved through the section name table. */
export interface ElfSection {
  name: string;
  /** sh_type: SHT_PROGBITS = 1, SHT_STRTAB = 3, SHT_NOBITS = 8, … */
  type: number;
  /** sh_flags: a bigint in ELF64 (Elf64_Xword), a number in ELF32. */
  flags: bigint | number;
  offset: number;
  size: number;
  addr: number;
}

/** What kiln needs from an ELF file: identity, dynamic linking needs, and the section table. */
export interface ElfInfo {
  class: 32 | 64;
  endian: 'little' | 'big';
  /** e_type: ET_REL = 1 (kernel modules), ET_EXEC = 2, ET_DYN = 3 (shared objects, PIE executables). */
  type: number;
  /** e_machine: EM_X86_64 = 62, EM_AARCH64 = 183. */
  machine: number;
  /** The program interpreter from PT_INTERP, e.g. "/lib64/ld-linux-x86-64.so.2". */
  interp?: string;
  /** DT_NEEDED entries, in order. */
  needed: string[];
  /** DT_SONAME. */
  soname?: string;
  /** DT_RUNPATH, or DT_RPATH when there is no DT_RUNPATH, split on ':' ($ORIGIN left as is). */
  runpath: string[];
  /** The section headers; empty when the file has none. */
  sections: ElfSection[];
}

/**
 * Whether `bytes` start with an ELF identification: magic, a known class and a known byte order.
 *
 * @example
 * isElf(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0])); // true
 */
export function isElf(bytes: Uint8Array): boolean {
  return looksLikeElf(bytes);
}

/**
 * Decodes an ELF file's header, program interpreter, dynamic section and section headers. Reads only those parts
 * (no copy of `bytes`). Dynamic strings are found the loader's way, through PT_DYNAMIC and DT_STRTAB mapped
 * through PT_LOAD, so files without section headers decode too. Throws `DecodeError` on malformed input.
 *
 * @example
 * const elf = decodeElf(readFileSync('/bin/ls'));
 * elf.interp; // '/lib64/ld-linux-x86-64.so.2'
 * elf.needed; // ['libselinux.so.1', 'libc.so.6']
 */
export function decodeElf(bytes: Uint8Array): ElfInfo {
  const { reader, header } = decodeHeader(bytes);
  const segments = decodeSegments(reader, header);
  const sections = decodeSections(reader, header);
  const interp = decodeInterp(reader, segments);
  const { needed, soname, runpath } = decodeDynamic(reader, segments);

  const info: ElfInfo = {
    class: header.class,
    endian: header.endian,
    type: header.type,
    machine: header.machine,
    needed,
    runpath,
    sections,
  };
  if (interp !== undefined) info.interp = interp;
  if (soname !== undefined) info.soname = soname;
  return info;
}

/**
 * The contents of the first section called `name`, as a view into `bytes` (not a copy); `undefined` when there
 * is no such section. A SHT_NOBITS section (.bss) occupies no file space and yields an empty view.
 *
 * @example
 * const bytes = readFileSync('virtio_blk.ko');
 * decodeModinfo(sectionBytes(bytes, decodeElf(bytes), '.modinfo')!).get('depends'); // ['virtio,virtio_ring']
 */
export function sectionBytes(bytes: Uint8Array, elf: ElfInfo, name: string): Uint8Array | undefined {
  const section = elf.sections.find((s) => s.name === name);
  if (section === undefined) return undefined;
  if (section.type === SHT_NOBITS) return bytes.subarray(section.offset, section.offset);
  const end = section.offset + section.size;
  if (end > bytes.length) {
    throw new DecodeError('ELF', `section ${name}`, section.offset, `${section.size} bytes end at ${hex(end)}, past end of file at ${hex(bytes.length)}`);
  }
  return bytes.subarray(section.offset, end);
}
