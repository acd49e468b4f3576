/**
 * cpio "newc" (and "crc") reader: the check on what kiln's own writer produced, and a way to look inside an
 * initramfs built elsewhere. We keep it next to our writer instead of relying on cpio(1) so tests and tools can
 * inspect archives (including several concatenated for the kernel) in memory, without root or an external tool.
 */
import { DecodeError } from '../../util/errors.js';
import {
  CRC_MAGIC,
  FIELD,
  FIELD_SIZE,
  HEADER_SIZE,
  NEWC_MAGIC,
  PERMISSION_BITS,
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  TRAILER_NAME,
  align4,
  type CpioEntry,
  type FieldName,
} from './_newc.js';

export interface DecodedCpio {
  /** Members in archive order. File `data` are views into the input bytes, not copies. */
  entries: CpioEntry[];
  /** Offset just past the trailer and its padding: where a concatenated next archive may start. */
  end: number;
  /** Modification time (seconds) of each entry, parallel to `entries`. */
  mtimes: number[];
}

type Header = { [F in FieldName]: number };

const FORMAT = 'cpio';
const MAGIC_SIZE = 6;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes one archive starting at `offset` (NUL padding before it is skipped, as the kernel does) up to and
 * including `TRAILER!!!`. Accepts the "070701" newc magic and the "070702" crc variant, whose data checksums are
 * verified. Hard links (nlink > 1, data stored on the last link) come back as files sharing the same data.
 * Padding is counted from the archive's first header. Throws `DecodeError` for anything unparseable.
 *
 * @example
 * ```ts
 * const first = decodeCpio(initramfs);
 * const second = decodeCpio(initramfs, first.end); // the next concatenated archive
 * ```
 */
export function decodeCpio(bytes: Uint8Array, offset = 0): DecodedCpio {
  if (!Number.isInteger(offset) || offset < 0 || offset > bytes.length) {
    throw new RangeError(`cpio offset ${offset} is outside the input (0..${bytes.length})`);
  }
  let pos = offset;
  while (pos < bytes.length && bytes[pos] === 0) pos++;
  const start = pos;
  const aligned = (n: number): number => start + align4(n - start);

  const entries: CpioEntry[] = [];
  const mtimes: number[] = [];
  const links = new Map<string, number[]>(); // "devmajor:devminor:ino" → indexes of hard-linked files
  for (;;) {
    const headerAt = pos;
    const header = readHeader(bytes, headerAt);
    const nameAt = headerAt + HEADER_SIZE;
    need(bytes, nameAt, header.namesize, 'name');
    const path = readName(bytes, nameAt, header.namesize);
    const dataAt = aligned(nameAt + header.namesize);
    need(bytes, dataAt, header.filesize, `entry "${path}"`);
    // A plain view even when given a Buffer; clamped because an empty member's padding may run past the input.
    const data = new Uint8Array(bytes.buffer, bytes.byteOffset + Math.min(dataAt, bytes.length), header.filesize);
    pos = aligned(dataAt + header.filesize);
    if (path === TRAILER_NAME) {
      shareHardLinkData(entries, links);
      return { entries, end: Math.min(pos, bytes.length), mtimes };
    }
    if (header.crc && (header.mode & S_IFMT) === S_IFREG) verifyChecksum(data, header.check, path, dataAt);
    entries.push(toEntry(header, path, data, headerAt, dataAt));
    mtimes.push(header.mtime);
    if ((header.mode & S_IFMT) === S_IFREG && header.nlink > 1) {
      const key = `${header.devmajor}:${header.devminor}:${header.ino}`;
      const group = links.get(key) ?? [];
      group.push(entries.length - 1);
      links.set(key, group);
    }
  }
}

function readHeader(bytes: Uint8Array, at: number): Header & { crc: boolean } {
  if (at >= bytes.length) throw new DecodeError(FORMAT, 'header', at, `end of input before ${TRAILER_NAME}`);
  need(bytes, at, HEADER_SIZE, 'header');
  const magic = String.fromCharCode(...bytes.subarray(at, at + MAGIC_SIZE)); // c_magic (6) @0
  if (magic !== NEWC_MAGIC && magic !== CRC_MAGIC) throw new DecodeError(FORMAT, 'header', at, 'bad magic');
  const header = { crc: magic === CRC_MAGIC } as Header & { crc: boolean };
  for (const field of Object.keys(FIELD) as FieldName[]) header[field] = readHex8(bytes, at + FIELD[field], field);
  if (header.namesize === 0) throw new DecodeError(FORMAT, 'header', at + FIELD.namesize, 'namesize is 0');
  return header;
}

/** Exactly eight hex digits; `parseInt` would accept "12 z" and signs. */
function readHex8(bytes: Uint8Array, at: number, field: FieldName): number {
  let value = 0;
  for (let i = 0; i < FIELD_SIZE; i++) {
    const digit = hexDigit(bytes[at + i]);
    if (digit < 0) {
      const text = JSON.stringify(String.fromCharCode(...bytes.subarray(at, at + FIELD_SIZE)));
      throw new DecodeError(FORMAT, 'header', at, `${field} ${text} is not 8 hex digits`);
    }
    value = value * 16 + digit;
  }
  return value;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30; // 0-9
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10; // A-F
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10; // a-f
  return -1;
}

function readName(bytes: Uint8Array, at: number, namesize: number): string {
  const raw = bytes.subarray(at, at + namesize - 1);
  if (bytes[at + namesize - 1] !== 0 || raw.includes(0)) {
    throw new DecodeError(FORMAT, 'name', at, 'not a NUL-terminated string of namesize bytes');
  }
  return decodeUtf8(raw, 'name', at);
}

/** `at` is the header offset, `dataAt` where the data starts; both only for error messages. */
function toEntry(header: Header, path: string, data: Uint8Array, at: number, dataAt: number): CpioEntry {
  const type = header.mode & S_IFMT;
  const mode = header.mode & PERMISSION_BITS;
  switch (type) {
    case S_IFREG:
      return { type: 'file', path, mode, data };
    case S_IFLNK:
      return { type: 'symlink', path, target: decodeUtf8(data, `symlink "${path}" target`, dataAt) };
    case S_IFDIR:
    case S_IFCHR:
    case S_IFBLK:
      if (data.length !== 0) {
        throw new DecodeError(FORMAT, 'header', at + FIELD.filesize, `"${path}" is not a file but has data`);
      }
      if (type === S_IFDIR) return { type: 'dir', path, mode };
      return {
        type: type === S_IFCHR ? 'char' : 'block',
        path,
        mode,
        major: header.rdevmajor,
        minor: header.rdevminor,
      };
    default:
      throw new DecodeError(FORMAT, 'header', at + FIELD.mode, `"${path}" has unsupported type 0o${type.toString(8)}`);
  }
}

/** The crc variant's check is the 32-bit sum of the data bytes. */
function verifyChecksum(data: Uint8Array, expected: number, path: string, dataAt: number): void {
  let sum = 0;
  for (let i = 0; i < data.length; i++) sum = (sum + data[i]) >>> 0;
  if (sum !== expected) {
    const reason = `checksum 0x${hex(sum)} does not match header 0x${hex(expected)}`;
    throw new DecodeError(FORMAT, `data of "${path}"`, dataAt, reason);
  }
}

/** newc stores a hard-linked file's data once, on its last link; give every link that data. */
function shareHardLinkData(entries: CpioEntry[], links: Map<string, number[]>): void {
  for (const indexes of links.values()) {
    const files = indexes.map((i) => entries[i]).filter((e) => e.type === 'file');
    const withData = files.find((file) => file.data.length > 0);
    if (withData !== undefined) for (const file of files) file.data = withData.data;
  }
}

function need(bytes: Uint8Array, at: number, size: number, what: string): void {
  const left = Math.max(bytes.length - at, 0);
  if (size > left) throw new DecodeError(FORMAT, what, at, `truncated (needs ${size} bytes, ${left} left)`);
}

function decodeUtf8(raw: Uint8Array, what: string, at: number): string {
  try {
    return utf8.decode(raw);
  } catch {
    throw new DecodeError(FORMAT, what, at, 'not valid UTF-8');
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(FIELD_SIZE, '0');
}
