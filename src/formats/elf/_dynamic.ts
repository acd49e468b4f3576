import { DecodeError } from '../../util/errors.js';
import { DT_NEEDED, DT_NULL, DT_RPATH, DT_RUNPATH, DT_SONAME, DT_STRSZ, DT_STRTAB, PT_DYNAMIC, PT_INTERP, PT_LOAD } from './_layout.js';
import { hex, type ElfReader } from './_reader.js';
import { fileOffsetOf, type Segment } from './_segments.js';

export interface DynamicInfo {
  needed: string[];
  soname?: string;
  runpath: string[];
}

const utf8 = new TextDecoder('utf-8');

/** PT_INTERP's path: the segment holds it NUL-terminated. */
export function decodeInterp(r: ElfReader, segments: readonly Segment[]): string | undefined {
  const interp = segments.find((s) => s.type === PT_INTERP);
  if (interp === undefined) return undefined;
  r.within(interp.offset, interp.filesz, 'program interpreter');
  const raw = r.bytes.subarray(interp.offset, interp.offset + interp.filesz);
  const nul = raw.indexOf(0);
  return utf8.decode(nul < 0 ? raw : raw.subarray(0, nul));
}

/**
 * DT_NEEDED, DT_SONAME and DT_RUNPATH/DT_RPATH, read the way the dynamic loader reads them: through PT_DYNAMIC,
 * with DT_STRTAB's address mapped to a file offset through the PT_LOAD segments. Section headers are not used, so
 * this works on files stripped of them.
 */
export function decodeDynamic(r: ElfReader, segments: readonly Segment[]): DynamicInfo {
  const dynamic = segments.find((s) => s.type === PT_DYNAMIC);
  if (dynamic === undefined) return { needed: [], runpath: [] };
  r.within(dynamic.offset, dynamic.filesz, 'dynamic segment');

  const D = r.layout.dyn;
  const size = r.layout.dynSize;
  const needed: bigint[] = [];
  let soname: bigint | undefined;
  let runpath: bigint | undefined;
  let rpath: bigint | undefined;
  let strtab: { addr: bigint; at: number } | undefined;
  let strsz: bigint | undefined;
  // Strings may be referenced before DT_STRTAB appears, so collect string offsets first and resolve them after.
  for (let at = dynamic.offset; at + size <= dynamic.offset + dynamic.filesz; at += size) {
    const tag = r.signedWord(at + D.tag);
    if (tag === BigInt(DT_NULL)) break;
    const val = r.word(at + D.val);
    switch (Number(tag)) {
      case DT_NEEDED:
        needed.push(val);
        break;
      case DT_SONAME:
        soname = val;
        break;
      case DT_RUNPATH:
        runpath = val;
        break;
      case DT_RPATH:
        rpath = val;
        break;
      case DT_STRTAB:
        strtab = { addr: val, at };
        break;
      case DT_STRSZ:
        strsz = val;
        break;
    }
  }

  // The loader ignores DT_RPATH when DT_RUNPATH is present.
  const searchPath = runpath ?? rpath;
  if (needed.length === 0 && soname === undefined && searchPath === undefined) return { needed: [], runpath: [] };
  if (strtab === undefined) {
    throw new DecodeError('ELF', 'dynamic segment', dynamic.offset, 'string references without DT_STRTAB');
  }
  const start = fileOffsetOf(segments, PT_LOAD, strtab.addr);
  if (start === undefined) {
    throw new DecodeError('ELF', 'dynamic segment', strtab.at, `DT_STRTAB address ${hex(strtab.addr)} is not inside any PT_LOAD segment`);
  }
  const fileEnd = r.bytes.length;
  const limit = strsz === undefined ? fileEnd : Math.min(fileEnd, start + Number(strsz));
  const string = (offset: bigint): string => {
    if (offset >= BigInt(limit - start)) {
      throw new DecodeError('ELF', 'dynamic string table', start, `string offset ${hex(offset)} is past its end at ${hex(limit)}`);
    }
    return r.cString(start + Number(offset), limit, 'dynamic string table');
  };

  const info: DynamicInfo = { needed: needed.map(string), runpath: searchPath === undefined ? [] : string(searchPath).split(':') };
  if (soname !== undefined) info.soname = string(soname);
  return info;
}
