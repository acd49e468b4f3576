import { DecodeError } from '../../util/errors.js';
import type { ElfHeader } from './_header.js';
import { SHN_UNDEF } from './_layout.js';
import { hex, type ElfReader } from './_reader.js';
import type { ElfSection } from './decode.js';

export function decodeSections(r: ElfReader, h: ElfHeader): ElfSection[] {
  if (h.shnum === 0) return [];
  const end = h.shoff + h.shnum * h.shentsize;
  if (end > r.bytes.length) {
    throw new DecodeError(
      'ELF',
      'section header table',
      h.shoff,
      `${h.shnum} entries of ${h.shentsize} bytes end at ${hex(end)}, past end of file at ${hex(r.bytes.length)}`,
    );
  }
  if (h.shstrndx !== SHN_UNDEF && h.shstrndx >= h.shnum) {
    throw new DecodeError('ELF', 'header', r.layout.ehdr.shstrndx, `section name table index ${h.shstrndx}, but there are ${h.shnum} sections`);
  }

  const S = r.layout.shdr;
  const is64 = r.layout.class === 64;
  const nameOffsets: number[] = [];
  const sections: ElfSection[] = [];
  for (let i = 0; i < h.shnum; i++) {
    const at = h.shoff + i * h.shentsize;
    nameOffsets.push(r.u32(at + S.name));
    const flags = r.word(at + S.flags);
    sections.push({
      name: '',
      type: r.u32(at + S.type),
      // Elf64_Xword flags stay bigint (processor bits sit up to bit 63); Elf32_Word flags are a number.
      flags: is64 ? flags : Number(flags),
      offset: r.number(at + S.offset, 'section header'),
      size: r.number(at + S.size, 'section header'),
      addr: r.number(at + S.addr, 'section header'),
    });
  }

  if (h.shstrndx === SHN_UNDEF) return sections;
  const names = sections[h.shstrndx];
  r.within(names.offset, names.size, 'section name table');
  const limit = names.offset + names.size;
  sections.forEach((section, i) => {
    const start = names.offset + nameOffsets[i];
    if (start >= limit) {
      throw new DecodeError(
        'ELF',
        'section header',
        h.shoff + i * h.shentsize + S.name,
        `name offset ${hex(nameOffsets[i])} is outside the section name table (${hex(names.size)} bytes)`,
      );
    }
    section.name = r.cString(start, limit, 'section name');
  });
  return sections;
}
