/**
 * Stripping an executable or shared object to what runs on the device, in TypeScript so that building for any
 * architecture needs no binutils of that architecture (the host's `strip` cannot read an aarch64 ELF).
 *
 * What the device needs is what the loader maps: every byte a program header points at (PT_LOAD, and PT_INTERP,
 * PT_NOTE, PT_DYNAMIC, … which lie inside the PT_LOAD ranges) and the file header and program header table. What
 * it never uses are the sections without SHF_ALLOC: `.symtab`/`.strtab`, `.debug_*`, `.comment`, annobin's
 * `.gnu.build.attributes`, the old section name table. Linkers put those after the last loaded byte, so the
 * stripped file is the input's prefix up to the end of the last segment (offsets and addresses unchanged, no
 * relocation of anything), then a new section name table and a new section header table listing only the
 * SHF_ALLOC sections, with `sh_link`/`sh_info` renumbered.
 *
 * Why a section header table at all: neither the kernel nor ld.so reads it (both go by program headers only), so
 * dropping it would also run. It costs ~3 KB for Node's 42 sections, and keeping it keeps `readelf -S`, `file`,
 * gdb and kiln's own section-based checks working on the shipped files — the same choice GNU strip makes.
 *
 * A dropped section that does lie before the end of the last segment (not seen in practice) is not moved: its
 * bytes are zeroed where no segment or kept section covers them, so nothing of it survives and it compresses to
 * almost nothing.
 */
import { DecodeError } from '../../util/errors.js';
import { decodeHeader, type ElfHeader } from './_header.js';
import {
  ET_DYN,
  ET_EXEC,
  PN_XNUM,
  SHF_ALLOC,
  SHF_INFO_LINK,
  SHN_LORESERVE,
  SHN_UNDEF,
  SHN_XINDEX,
  SHT_NOBITS,
  SHT_REL,
  SHT_RELA,
  SHT_STRTAB,
} from './_layout.js';
import { hex, type ElfReader } from './_reader.js';
import { decodeSections } from './_sections.js';
import { decodeSegments } from './_segments.js';

/** Half-open byte range [start, end) in the file. */
type Range = readonly [start: number, end: number];

const SHSTRTAB = '.shstrtab';

/**
 * Returns a stripped copy of an ELF executable or shared object (any class and byte order): the loaded bytes
 * unchanged, only SHF_ALLOC sections left in a rewritten section header table, everything else gone.
 * Throws `DecodeError` on malformed input and `TypeError` for an ELF file that is not a program
 * (a relocatable object such as a kernel module needs its symbol table; a core file is not run).
 *
 * @example
 * const node = stripElf(readFileSync('node-v26/bin/node')); // 149.7 MB → 116.4 MB, runs the same
 */
export function stripElf(bytes: Uint8Array): Uint8Array {
  const { reader: r, header: h } = decodeHeader(bytes);
  if (h.type !== ET_EXEC && h.type !== ET_DYN) {
    throw new TypeError(`Cannot strip ELF file of type ${h.type}: only executables (2) and shared objects (3) are stripped`);
  }
  if (h.phnum === 0) throw new TypeError('Cannot strip an ELF program without program headers: nothing would be loaded');
  const segments = decodeSegments(r, h);
  const sections = decodeSections(r, h);
  const L = r.layout;

  // What must survive byte for byte: the headers and every segment's file range.
  const keep: Range[] = [
    [0, L.ehdrSize],
    [h.phoff, h.phoff + h.phnum * h.phentsize],
  ];
  segments.forEach((s, i) => {
    if (s.filesz === 0) return;
    const end = s.offset + s.filesz;
    if (end > bytes.length) {
      throw new DecodeError('ELF', `program header ${i}`, h.phoff + i * h.phentsize, `segment ends at ${hex(end)}, past end of file at ${hex(bytes.length)}`);
    }
    keep.push([s.offset, end]);
  });

  const kept: number[] = [];
  const dropped: Range[] = [];
  sections.forEach((s, i) => {
    if (i === 0) return; // the null section is written anew
    const range: Range = [s.offset, s.offset + (s.type === SHT_NOBITS ? 0 : s.size)];
    if (range[1] > bytes.length) {
      throw new DecodeError(
        'ELF',
        `section ${s.name || i}`,
        h.shoff + i * h.shentsize,
        `${s.size} bytes end at ${hex(range[1])}, past end of file at ${hex(bytes.length)}`,
      );
    }
    if ((BigInt(s.flags) & BigInt(SHF_ALLOC)) !== 0n) {
      kept.push(i);
      if (range[1] > range[0]) keep.push(range);
    } else if (range[1] > range[0]) {
      dropped.push(range);
    }
  });
  if (h.shnum > 0) dropped.push([h.shoff, h.shoff + h.shnum * h.shentsize]);

  const end = Math.max(...keep.map(([, e]) => e));
  if (sections.length === 0) {
    // Already without section headers: the loaded prefix is all there is.
    const out = bytes.slice(0, end);
    zeroUncovered(out, dropped, keep);
    return out;
  }

  // New section name table: names of the kept sections, then its own, each once.
  const names = new StringTable();
  const nameOffsets = kept.map((i) => names.add(sections[i]!.name));
  const shstrtabName = names.add(SHSTRTAB);
  const strtab = names.bytes();

  const shentsize = h.shentsize;
  const count = 1 + kept.length + 1; // null section, kept sections, .shstrtab
  const strtabOffset = end;
  const shoff = alignUp(strtabOffset + strtab.length, L.wordSize);
  const out = new Uint8Array(shoff + count * shentsize);
  out.set(bytes.subarray(0, end));
  zeroUncovered(out, dropped, keep);
  out.set(strtab, strtabOffset);

  const w = new ElfWriter(out, r);
  const S = L.shdr;
  const newIndex = new Map<number, number>(kept.map((old, j) => [old, j + 1]));
  const shstrndx = count - 1;

  // Section 0: copied (with PN_XNUM it holds the real program header count in sh_info), then its extended
  // numbering fields set for the new table.
  out.set(bytes.subarray(h.shoff, h.shoff + shentsize), shoff);
  w.word(shoff + S.size, count >= SHN_LORESERVE ? count : 0);
  w.u32(shoff + S.link, shstrndx >= SHN_LORESERVE ? shstrndx : 0);
  if (r.u16(L.ehdr.phnum) !== PN_XNUM) w.u32(shoff + S.info, 0);

  kept.forEach((old, j) => {
    const at = shoff + (j + 1) * shentsize;
    const from = h.shoff + old * h.shentsize;
    out.set(bytes.subarray(from, from + shentsize), at);
    w.u32(at + S.name, nameOffsets[j]!);
    // sh_link is a section index whenever it is set (symbol table of a relocation or hash section, string table
    // of .dynsym/.dynamic, SHF_LINK_ORDER's target): follow it, or clear it when its target is gone.
    w.u32(at + S.link, remap(r.u32(from + S.link), newIndex));
    // sh_info is a section index only for relocations and SHF_INFO_LINK; elsewhere a count (.dynsym's locals).
    const type = r.u32(from + S.type);
    const info = r.u32(from + S.info);
    const infoIsIndex = type === SHT_REL || type === SHT_RELA || (BigInt(sections[old]!.flags) & BigInt(SHF_INFO_LINK)) !== 0n;
    w.u32(at + S.info, infoIsIndex ? remap(info, newIndex) : info);
  });

  const last = shoff + shstrndx * shentsize;
  out.fill(0, last, last + shentsize);
  w.u32(last + S.name, shstrtabName); // sh_name (4) @0
  w.u32(last + S.type, SHT_STRTAB); // sh_type (4) @4
  w.word(last + S.offset, strtabOffset); // sh_offset @24 (ELF64) / @16 (ELF32)
  w.word(last + S.size, strtab.length); // sh_size @32 / @20
  w.word(last + S.addralign, 1); // sh_addralign @48 / @32

  writeHeader(w, h, shoff, count, shstrndx);
  return out;
}

function writeHeader(w: ElfWriter, h: ElfHeader, shoff: number, count: number, shstrndx: number): void {
  const E = w.layout.ehdr;
  w.word(E.shoff, shoff); // e_shoff
  w.u16(E.shnum, count >= SHN_LORESERVE ? 0 : count); // e_shnum (0: the count is section 0's sh_size)
  w.u16(E.shstrndx, shstrndx >= SHN_LORESERVE ? SHN_XINDEX : shstrndx); // e_shstrndx
  w.u16(E.shentsize, h.shentsize); // e_shentsize: unchanged, every entry was copied whole
}

function remap(index: number, newIndex: ReadonlyMap<number, number>): number {
  return index === SHN_UNDEF ? SHN_UNDEF : (newIndex.get(index) ?? SHN_UNDEF);
}

function alignUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/** Zeroes the parts of `ranges` (clipped to `out`) that none of `covered` overlaps. */
function zeroUncovered(out: Uint8Array, ranges: readonly Range[], covered: readonly Range[]): void {
  const sorted = [...covered].sort((a, b) => a[0] - b[0]);
  for (const [start, stop] of ranges) {
    let from = start;
    const to = Math.min(stop, out.length);
    for (const [cs, ce] of sorted) {
      if (from >= to) break;
      if (ce <= from || cs >= to) continue;
      if (cs > from) out.fill(0, from, cs);
      from = Math.max(from, ce);
    }
    if (from < to) out.fill(0, from, to);
  }
}

/** A string table: "\0" then each distinct name once, NUL-terminated. */
class StringTable {
  private readonly offsets = new Map<string, number>([['', 0]]);
  private readonly parts: Uint8Array[] = [new Uint8Array(1)];
  private size = 1;

  add(name: string): number {
    const known = this.offsets.get(name);
    if (known !== undefined) return known;
    const encoded = new TextEncoder().encode(`${name}\0`);
    this.offsets.set(name, this.size);
    this.parts.push(encoded);
    this.size += encoded.length;
    return this.size - encoded.length;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

/** Writes in the input's class and byte order. */
class ElfWriter {
  readonly layout: ElfReader['layout'];
  private readonly view: DataView;
  private readonly le: boolean;

  constructor(out: Uint8Array, like: ElfReader) {
    this.view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    this.layout = like.layout;
    this.le = like.le;
  }

  u16(at: number, value: number): void {
    this.view.setUint16(at, value, this.le);
  }

  u32(at: number, value: number): void {
    this.view.setUint32(at, value, this.le);
  }

  /** An offset or size: 4 bytes in ELF32, 8 in ELF64. */
  word(at: number, value: number): void {
    if (this.layout.wordSize === 8) this.view.setBigUint64(at, BigInt(value), this.le);
    else this.view.setUint32(at, value, this.le);
  }
}
