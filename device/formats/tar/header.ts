/**
 * One 512-byte tar header block (POSIX ustar, GNU and old v7), decoded over a `Uint8Array` with no I/O.
 * Long names (GNU `L`/`K`) and PAX records are the reader's business (`reader.ts`, `pax.ts`): this file only
 * turns one block into fields.
 */
import { DecodeError } from '../../contract/decode-error.ts';

export const BLOCK_SIZE = 512;

/** `magic (6) @257` of POSIX ustar: "ustar\0" (version "00"). */
const USTAR_MAGIC = 'ustar\0';
/** GNU tar's pre-POSIX magic: "ustar " followed by version " \0"; its prefix field holds atime/ctime instead. */
const GNU_MAGIC = 'ustar ';

/** Type flags kiln understands; anything else is an error rather than a silently different tree. */
export type TarTypeFlag =
  | 'file' // '0', '\0', '7' (contiguous file: a regular file everywhere but on a few 1980s machines)
  | 'hardlink' // '1'
  | 'symlink' // '2'
  | 'char' // '3'
  | 'block' // '4'
  | 'directory' // '5'
  | 'fifo' // '6'
  | 'pax-local' // 'x'
  | 'pax-global' // 'g'
  | 'gnu-long-name' // 'L'
  | 'gnu-long-link' // 'K'
  | 'gnu-volume'; // 'V': a volume label, not a file

const TYPE_FLAGS: Record<string, TarTypeFlag> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'directory',
  '6': 'fifo',
  x: 'pax-local',
  g: 'pax-global',
  L: 'gnu-long-name',
  K: 'gnu-long-link',
  V: 'gnu-volume',
};

export interface TarHeader {
  /** prefix + "/" + name for ustar; name alone for GNU and v7. Raw: not normalised. */
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  type: TarTypeFlag;
  linkName: string;
  uname: string;
  gname: string;
  devMajor: number;
  devMinor: number;
  format: 'ustar' | 'gnu' | 'v7';
}

/** Unparseable archive bytes; `offset` is the byte offset of the header block in the (decompressed) archive. */
/** A tar archive that cannot be decoded: kiln's one DecodeError, at the offset of the entry's header. */
export function tarError(reason: string, archiveOffset: number): DecodeError {
  return new DecodeError('tar', 'archive', archiveOffset, reason);
}

/** True for the all-zero block that marks the end of an archive. */
export function isZeroBlock(block: Uint8Array, offset = 0): boolean {
  for (let i = offset; i < offset + BLOCK_SIZE; i++) if (block[i] !== 0) return false;
  return true;
}

/**
 * Decodes the header block at `offset` of `bytes`. `archiveOffset` only names the place in errors.
 * @example decodeTarHeader(block, 0).name // "bin/busybox"
 */
export function decodeTarHeader(bytes: Uint8Array, offset = 0, archiveOffset = offset): TarHeader {
  if (bytes.length < offset + BLOCK_SIZE) throw tarError('truncated header block', archiveOffset);
  const b = bytes.subarray(offset, offset + BLOCK_SIZE);
  verifyChecksum(b, archiveOffset);
  const magic = Buffer.from(b.buffer, b.byteOffset + 257, 6).toString('latin1'); // magic (6) @257
  const format = magic === USTAR_MAGIC ? 'ustar' : magic === GNU_MAGIC ? 'gnu' : 'v7';
  const flag = String.fromCharCode(b[156]!); // typeflag (1) @156
  const type = TYPE_FLAGS[flag];
  if (type === undefined) throw tarError(`unsupported entry type ${JSON.stringify(flag)}`, archiveOffset);
  let name = text(b, 0, 100); // name (100) @0
  if (format === 'ustar') {
    const prefix = text(b, 345, 155); // prefix (155) @345
    if (prefix !== '') name = `${prefix}/${name}`;
  }
  const field = (what: string, at: number, size: number): number => numeric(b, at, size, what, archiveOffset);
  return {
    name,
    mode: field('mode', 100, 8), // mode (8) @100
    uid: field('uid', 108, 8), // uid (8) @108
    gid: field('gid', 116, 8), // gid (8) @116
    size: field('size', 124, 12), // size (12) @124
    mtime: field('mtime', 136, 12), // mtime (12) @136
    type,
    linkName: text(b, 157, 100), // linkname (100) @157
    uname: format === 'v7' ? '' : text(b, 265, 32), // uname (32) @265
    gname: format === 'v7' ? '' : text(b, 297, 32), // gname (32) @297
    devMajor: format === 'v7' ? 0 : field('devmajor', 329, 8), // devmajor (8) @329
    devMinor: format === 'v7' ? 0 : field('devminor', 337, 8), // devminor (8) @337
    format,
  };
}

/** chksum (8) @148: the byte sum with the field itself read as spaces; old tars summed signed bytes. */
function verifyChecksum(b: Uint8Array, archiveOffset: number): void {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK_SIZE; i++) {
    const v = i >= 148 && i < 156 ? 0x20 : b[i]!;
    unsigned += v;
    signed += v > 127 ? v - 256 : v;
  }
  const stored = numeric(b, 148, 8, 'checksum', archiveOffset);
  if (stored !== unsigned && stored !== signed) {
    throw tarError(`bad header checksum: stored ${stored}, computed ${unsigned}`, archiveOffset);
  }
}

/** NUL-terminated (or full-width) UTF-8 text. */
function text(b: Uint8Array, at: number, size: number): string {
  let end = at;
  while (end < at + size && b[end] !== 0) end++;
  return Buffer.from(b.buffer, b.byteOffset + at, end - at).toString('utf8');
}

/**
 * Octal ASCII (space/NUL padded), or GNU base-256 when the high bit of the first byte is set (big uids, sizes
 * over 8 GiB). Throws rather than lose precision past 2^53.
 */
function numeric(b: Uint8Array, at: number, size: number, what: string, archiveOffset: number): number {
  const first = b[at]!;
  if (first & 0x80) {
    if (first === 0xff) throw tarError(`negative base-256 ${what}`, archiveOffset);
    let value = first & 0x7f;
    for (let i = at + 1; i < at + size; i++) {
      value = value * 256 + b[i]!;
      if (!Number.isSafeInteger(value)) throw tarError(`${what} too large`, archiveOffset);
    }
    return value;
  }
  let s = '';
  for (let i = at; i < at + size; i++) {
    const c = b[i]!;
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  s = s.trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw tarError(`${what} is not octal: ${JSON.stringify(s)}`, archiveOffset);
  const value = parseInt(s, 8);
  if (!Number.isSafeInteger(value)) throw tarError(`${what} too large`, archiveOffset);
  return value;
}
