import { DecodeError } from '../../util/errors.js';
import type { ElfHeader } from './_header.js';
import { hex, type ElfReader } from './_reader.js';

/** One program header. Addresses stay bigint: a kernel's are above 2^53 and are only compared, never indexed. */
export interface Segment {
  type: number;
  offset: number;
  filesz: number;
  vaddr: bigint;
  memsz: bigint;
}

export function decodeSegments(r: ElfReader, h: ElfHeader): Segment[] {
  if (h.phnum === 0) return [];
  const end = h.phoff + h.phnum * h.phentsize;
  if (end > r.bytes.length) {
    throw new DecodeError(
      'ELF',
      'program header table',
      h.phoff,
      `${h.phnum} entries of ${h.phentsize} bytes end at ${hex(end)}, past end of file at ${hex(r.bytes.length)}`,
    );
  }
  const P = r.layout.phdr;
  const segments: Segment[] = [];
  for (let i = 0; i < h.phnum; i++) {
    const at = h.phoff + i * h.phentsize;
    segments.push({
      type: r.u32(at + P.type),
      offset: r.number(at + P.offset, 'program header'),
      filesz: r.number(at + P.filesz, 'program header'),
      vaddr: r.word(at + P.vaddr),
      memsz: r.word(at + P.memsz),
    });
  }
  return segments;
}

/** The file offset holding virtual address `addr`, found through the PT_LOAD segments' file-backed parts. */
export function fileOffsetOf(segments: readonly Segment[], loadType: number, addr: bigint): number | undefined {
  for (const s of segments) {
    if (s.type === loadType && addr >= s.vaddr && addr < s.vaddr + BigInt(s.filesz)) {
      return s.offset + Number(addr - s.vaddr);
    }
  }
  return undefined;
}
