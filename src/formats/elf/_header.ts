import { DecodeError } from '../../util/errors.js';
import {
  EI_NIDENT,
  ELF_MAGIC,
  ELFCLASS32,
  ELFCLASS64,
  ELFDATA2LSB,
  ELFDATA2MSB,
  IDENT,
  LAYOUT32,
  LAYOUT64,
  PN_XNUM,
  SHN_XINDEX,
  type ClassLayout,
} from './_layout.js';
import { ElfReader } from './_reader.js';

/** The file header with extended numbering already resolved. */
export interface ElfHeader {
  class: 32 | 64;
  endian: 'little' | 'big';
  type: number;
  machine: number;
  phoff: number;
  phentsize: number;
  phnum: number;
  shoff: number;
  shentsize: number;
  shnum: number;
  shstrndx: number;
}

function hasMagic(bytes: Uint8Array): boolean {
  return bytes.length >= ELF_MAGIC.length && ELF_MAGIC.every((byte, i) => bytes[IDENT.magic + i] === byte);
}

function layoutOf(elfClass: number | undefined): ClassLayout | undefined {
  return elfClass === ELFCLASS64 ? LAYOUT64 : elfClass === ELFCLASS32 ? LAYOUT32 : undefined;
}

/** Magic, a known class and a known byte order: enough to tell an ELF file from anything else. */
export function looksLikeElf(bytes: Uint8Array): boolean {
  const data = bytes[IDENT.data];
  return bytes.length >= EI_NIDENT && hasMagic(bytes) && layoutOf(bytes[IDENT.class]) !== undefined && (data === ELFDATA2LSB || data === ELFDATA2MSB);
}

export function decodeHeader(bytes: Uint8Array): { reader: ElfReader; header: ElfHeader } {
  if (bytes.length < EI_NIDENT) {
    throw new DecodeError('ELF', 'header', 0, `truncated: ${bytes.length} bytes, the identification alone is ${EI_NIDENT}`);
  }
  if (!hasMagic(bytes)) throw new DecodeError('ELF', 'header', 0, 'bad magic');
  const layout = layoutOf(bytes[IDENT.class]);
  if (layout === undefined) {
    throw new DecodeError('ELF', 'header', IDENT.class, `unknown class ${bytes[IDENT.class]} (EI_CLASS must be 1 or 2)`);
  }
  const data = bytes[IDENT.data];
  if (data !== ELFDATA2LSB && data !== ELFDATA2MSB) {
    throw new DecodeError('ELF', 'header', IDENT.data, `unknown data encoding ${data} (EI_DATA must be 1 or 2)`);
  }
  if (bytes.length < layout.ehdrSize) {
    throw new DecodeError('ELF', 'header', 0, `truncated: ${bytes.length} bytes, an ELF${layout.class} header is ${layout.ehdrSize}`);
  }

  const r = new ElfReader(bytes, layout, data === ELFDATA2LSB);
  const E = layout.ehdr;
  const shoff = r.number(E.shoff, 'header');
  let phnum = r.u16(E.phnum);
  let shnum = r.u16(E.shnum);
  let shstrndx = r.u16(E.shstrndx);
  const phentsize = r.u16(E.phentsize);
  const shentsize = r.u16(E.shentsize);

  if (shoff !== 0 && (shnum === 0 || phnum === PN_XNUM || shstrndx === SHN_XINDEX)) {
    // Extended numbering: the real values live in section header 0.
    r.within(shoff, layout.shdrSize, 'section header 0');
    const S = layout.shdr;
    if (shnum === 0) shnum = r.number(shoff + S.size, 'section header 0');
    if (phnum === PN_XNUM) phnum = r.u32(shoff + S.info);
    if (shstrndx === SHN_XINDEX) shstrndx = r.u32(shoff + S.link);
  }
  // gABI: a zero table offset means the table is absent, whatever the count says.
  if (shoff === 0) shnum = 0;
  const phoff = r.number(E.phoff, 'header');
  if (phoff === 0) phnum = 0;
  if (phnum > 0 && phentsize < layout.phdrSize) {
    throw new DecodeError('ELF', 'header', E.phentsize, `program header entry size ${phentsize}, ELF${layout.class} needs ${layout.phdrSize}`);
  }
  if (shnum > 0 && shentsize < layout.shdrSize) {
    throw new DecodeError('ELF', 'header', E.shentsize, `section header entry size ${shentsize}, ELF${layout.class} needs ${layout.shdrSize}`);
  }

  return {
    reader: r,
    header: {
      class: layout.class,
      endian: r.le ? 'little' : 'big',
      type: r.u16(E.type),
      machine: r.u16(E.machine),
      phoff,
      phentsize,
      phnum,
      shoff,
      shentsize,
      shnum,
      shstrndx,
    },
  };
}
