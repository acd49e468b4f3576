/**
 * POSIX pax extended header records: `"<length> <key>=<value>\n"`, length counting the whole record in bytes.
 * Values are UTF-8. Pure: bytes in, map out.
 */
import { tarError } from './header.ts';

/** GNU tar's and Go's (star's) key prefix for extended attributes: `SCHILY.xattr.<name>=<raw bytes>`. */
export const PAX_XATTR_PREFIX = 'SCHILY.xattr.';

/**
 * Decodes the records of one pax header body; a later record with the same key wins. Values are UTF-8 text but
 * for `SCHILY.xattr.*`, whose bytes come back one per character (latin1): `Buffer.from(value, 'latin1')`.
 * `archiveOffset` (of the header block) only names the place in errors.
 * @example decodePaxRecords(Buffer.from('30 path=some/very/long/name\n')).get('path') // "some/very/long/name"
 */
export function decodePaxRecords(bytes: Uint8Array, archiveOffset = 0): Map<string, string> {
  const records = new Map<string, string>();
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  let at = 0;
  while (at < buf.length) {
    if (buf[at] === 0) break; // some writers pad the body with NULs
    const space = buf.indexOf(0x20, at);
    if (space < 0) throw tarError(`pax record at byte ${at} has no length`, archiveOffset);
    const lengthText = buf.toString('latin1', at, space);
    if (!/^[0-9]+$/.test(lengthText)) throw tarError(`pax record at byte ${at} has a bad length ${JSON.stringify(lengthText)}`, archiveOffset);
    const length = Number(lengthText);
    const end = at + length;
    if (length <= space - at + 1 || end > buf.length || buf[end - 1] !== 0x0a) {
      throw tarError(`pax record at byte ${at} overruns its length ${length}`, archiveOffset);
    }
    const equals = buf.indexOf(0x3d, space + 1); // "=" never occurs inside a multi-byte UTF-8 sequence
    if (equals < 0 || equals >= end - 1 || equals === space + 1) throw tarError(`pax record at byte ${at} has no key=value`, archiveOffset);
    const key = buf.toString('utf8', space + 1, equals);
    // Extended attribute values are bytes (security.capability is binary): latin1 keeps each byte as one char.
    records.set(key, buf.toString(key.startsWith(PAX_XATTR_PREFIX) ? 'latin1' : 'utf8', equals + 1, end - 1));
    at = end;
  }
  return records;
}

/** A pax decimal number (`size`, `uid`, `gid`) or time (`mtime`, seconds with an optional fraction). */
export function paxNumber(records: Map<string, string>, key: string, archiveOffset: number, fraction = false): number | undefined {
  const value = records.get(key);
  if (value === undefined || value === '') return undefined;
  const pattern = fraction ? /^-?[0-9]+(\.[0-9]+)?$/ : /^[0-9]+$/;
  const n = Number(value);
  if (!pattern.test(value) || !Number.isFinite(n) || (!fraction && !Number.isSafeInteger(n))) {
    throw tarError(`pax ${key} is not a number: ${JSON.stringify(value)}`, archiveOffset);
  }
  return n;
}
