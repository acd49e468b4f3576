/**
 * Deterministic cpio "newc" writer for the Linux initramfs.
 *
 * Written here rather than delegated to cpio(1) so the same entries always give the same bytes (no host uid, mtime
 * or inode numbers leak in), device nodes need no root, no external tool is required, and each archive is a
 * self-contained unit that can be concatenated with others for the kernel.
 */
import {
  FIELD,
  FIELD_SIZE,
  HEADER_SIZE,
  NEWC_MAGIC,
  PATH_MAX,
  PERMISSION_BITS,
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  TRAILER_NAME,
  U32_MAX,
  align4,
  type CpioEntry,
  type FieldName,
} from './_newc.js';

export interface EncodeCpioOptions {
  /**
   * Modification time of every entry, in seconds since the epoch.
   * @default 0
   */
  mtime?: number;
}

/** One archive member, validated and ready to write. */
interface Member {
  path: string;
  name: Uint8Array; // path bytes without the NUL
  mode: number; // type | permission bits
  rdevmajor: number;
  rdevminor: number;
  data: Uint8Array;
}

const DEFAULT_DIR_MODE = 0o755;
const SYMLINK_MODE = S_IFLNK | 0o777;
const SLASH = 0x2f;
const HEX_DIGITS = new TextEncoder().encode('0123456789ABCDEF');
const EMPTY = new Uint8Array(0);
const utf8 = new TextEncoder();

/**
 * Encodes `entries` as one deterministic newc archive ending in `TRAILER!!!`.
 *
 * - Entries are sorted component-wise by path (byte order), so every directory precedes its contents.
 * - Missing parent directories are added with mode 0o755; a parent that exists but is not a directory is a
 *   `TypeError`, as is a duplicate path (after normalisation), `..`, a NUL, or a non-directory at the root.
 * - Paths are stored without a leading '/'; the root itself ('/', '.', '') is never emitted.
 * - uid/gid are 0, mtime comes from `options`, inodes count up from 1, nlink is 2 for directories and 1 otherwise.
 * - A value that does not fit its 8-hex-digit field, a mode outside 0..0o7777, or a name or symlink target the
 *   kernel would skip (longer than PATH_MAX) is a `RangeError`.
 *
 * The output length is a multiple of 4, so archives can be concatenated as the kernel expects.
 *
 * @example
 * ```ts
 * const init = new TextEncoder().encode('#!/bin/sh\necho hello\n');
 * const archive = encodeCpio([
 *   { type: 'file', path: '/init', mode: 0o755, data: init },
 *   { type: 'char', path: '/dev/console', mode: 0o600, major: 5, minor: 1 },
 * ]);
 * // archive holds dev, dev/console, init, TRAILER!!!
 * ```
 */
export function encodeCpio(entries: readonly CpioEntry[], options: EncodeCpioOptions = {}): Uint8Array {
  const mtime = options.mtime ?? 0;
  checkU32(mtime, 'option mtime');
  const records = addMissingParents(normalise(entries));
  records.sort((a, b) => comparePaths(a.name, b.name));

  let total = align4(HEADER_SIZE + TRAILER_NAME.length + 1);
  for (const record of records) {
    total += align4(HEADER_SIZE + record.name.length + 1) + align4(record.data.length);
  }

  const out = new Uint8Array(total); // zero-filled, so padding and NULs need no writes
  let pos = 0;
  records.forEach((record, index) => {
    pos = writeHeader(out, pos, {
      ino: index + 1,
      mode: record.mode,
      nlink: (record.mode & S_IFMT) === S_IFDIR ? 2 : 1,
      mtime,
      filesize: record.data.length,
      rdevmajor: record.rdevmajor,
      rdevminor: record.rdevminor,
      name: record.name,
    });
    out.set(record.data, pos);
    pos += align4(record.data.length);
  });
  pos = writeHeader(out, pos, { nlink: 1, name: utf8.encode(TRAILER_NAME) });
  if (pos !== total) throw new Error(`cpio encoder wrote ${pos} bytes, planned ${total}`); // internal invariant
  return out;
}

/** Validates each entry and turns it into a record keyed by its normalised path. */
function normalise(entries: readonly CpioEntry[]): Map<string, Member> {
  const records = new Map<string, Member>();
  for (const entry of entries) {
    const path = normalisePath(entry.path);
    if (path === '') {
      if (entry.type === 'dir') continue; // the root exists before unpacking; it is never an entry
      throw new TypeError(`cpio entry "${entry.path}" is the root but has type ${entry.type}`);
    }
    if (records.has(path)) throw new TypeError(`cpio entry "${path}" appears more than once`);
    const name = utf8.encode(path);
    if (name.length + 1 > PATH_MAX) {
      throw new RangeError(`cpio path "${path}" is ${name.length} bytes; the kernel allows ${PATH_MAX - 1}`);
    }
    records.set(path, toMember(entry, path, name));
  }
  return records;
}

function toMember(entry: CpioEntry, path: string, name: Uint8Array): Member {
  const base = { path, name, rdevmajor: 0, rdevminor: 0, data: EMPTY };
  switch (entry.type) {
    case 'file':
      if (!(entry.data instanceof Uint8Array)) throw new TypeError(`cpio file "${path}" data must be a Uint8Array`);
      checkU32(entry.data.length, `field filesize of "${path}"`);
      return { ...base, mode: S_IFREG | permissions(entry.mode, path), data: entry.data };
    case 'dir':
      return { ...base, mode: S_IFDIR | permissions(entry.mode, path) };
    case 'symlink': {
      if (typeof entry.target !== 'string' || entry.target === '' || entry.target.includes('\0')) {
        throw new TypeError(`cpio symlink "${path}" needs a non-empty target without NUL`);
      }
      const data = utf8.encode(entry.target);
      if (data.length > PATH_MAX) {
        throw new RangeError(`cpio symlink "${path}" target is ${data.length} bytes; the kernel allows ${PATH_MAX}`);
      }
      return { ...base, mode: SYMLINK_MODE, data };
    }
    case 'char':
    case 'block':
      checkU32(entry.major, `field rdevmajor of "${path}"`);
      checkU32(entry.minor, `field rdevminor of "${path}"`);
      return {
        ...base,
        mode: (entry.type === 'char' ? S_IFCHR : S_IFBLK) | permissions(entry.mode, path),
        rdevmajor: entry.major,
        rdevminor: entry.minor,
      };
    default:
      throw new TypeError(`cpio entry "${path}" has unknown type ${String((entry as { type: unknown }).type)}`);
  }
}

/** "/usr//lib/./x/" → "usr/lib/x"; "/" and "." → "" (the root). */
function normalisePath(path: string): string {
  if (typeof path !== 'string') throw new TypeError(`cpio entry path must be a string, got ${typeof path}`);
  if (path.includes('\0')) throw new TypeError(`cpio path ${JSON.stringify(path)} contains NUL`);
  // Lone surrogates would all encode to U+FFFD and silently collide.
  if (/\p{Cs}/u.test(path)) throw new TypeError(`cpio path ${JSON.stringify(path)} is not well-formed Unicode`);
  const parts = path.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw new TypeError(`cpio path "${path}" contains ".."`);
  return parts.join('/');
}

/** Adds a 0o755 directory for every ancestor that has no entry; an ancestor that is not a directory is an error. */
function addMissingParents(records: Map<string, Member>): Member[] {
  const all = new Map(records);
  for (const path of records.keys()) {
    for (let slash = path.indexOf('/'); slash !== -1; slash = path.indexOf('/', slash + 1)) {
      const parent = path.slice(0, slash);
      const existing = all.get(parent);
      if (existing === undefined) {
        const name = utf8.encode(parent);
        const mode = S_IFDIR | DEFAULT_DIR_MODE;
        all.set(parent, { path: parent, name, mode, rdevmajor: 0, rdevminor: 0, data: EMPTY });
      } else if ((existing.mode & S_IFMT) !== S_IFDIR) {
        throw new TypeError(`cpio entry "${path}" has parent "${parent}" that is not a directory`);
      }
    }
  }
  return [...all.values()];
}

/**
 * Component-wise order on UTF-8 bytes: '/' sorts below every other byte (NUL cannot occur), so "a/b" < "a-b" and a
 * directory (a prefix) always precedes its contents. Byte order keeps it independent of locale and of UTF-16.
 */
function comparePaths(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return (a[i] === SLASH ? 0 : a[i]) - (b[i] === SLASH ? 0 : b[i]);
  }
  return a.length - b.length;
}

function permissions(mode: number, path: string): number {
  if (!Number.isInteger(mode) || mode < 0 || mode > PERMISSION_BITS) {
    const shown = typeof mode === 'number' ? `0o${mode.toString(8)}` : String(mode);
    throw new RangeError(`cpio entry "${path}" mode ${shown} is not permission bits (0..0o7777)`);
  }
  return mode;
}

function checkU32(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > U32_MAX) {
    throw new RangeError(`cpio ${what} is ${value}; it must be an integer 0..0xffffffff`);
  }
}

/** Writes one header and its NUL-terminated name at `pos`; returns the 4-aligned offset where the data starts. */
function writeHeader(out: Uint8Array, pos: number, fields: { [F in FieldName]?: number } & { name: Uint8Array }): number {
  for (let i = 0; i < NEWC_MAGIC.length; i++) out[pos + i] = NEWC_MAGIC.charCodeAt(i); // c_magic (6) @0
  for (const field of Object.keys(FIELD) as FieldName[]) {
    const value = field === 'namesize' ? fields.name.length + 1 : (fields[field] ?? 0);
    writeHex8(out, pos + FIELD[field], value);
  }
  out.set(fields.name, pos + HEADER_SIZE); // the NUL and padding are already zero
  return pos + align4(HEADER_SIZE + fields.name.length + 1);
}

/** Eight uppercase hex digits, as the kernel's gen_init_cpio and GNU cpio write them. Values are pre-checked. */
function writeHex8(out: Uint8Array, pos: number, value: number): void {
  for (let i = FIELD_SIZE - 1; i >= 0; i--) {
    out[pos + i] = HEX_DIGITS[value % 16];
    value = Math.floor(value / 16);
  }
}
