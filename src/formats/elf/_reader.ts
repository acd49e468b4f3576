import { DecodeError } from '../../util/errors.js';
import type { ClassLayout } from './_layout.js';

const utf8 = new TextDecoder('utf-8');
/** The high 32 bits of Number.MAX_SAFE_INTEGER (2^53 - 1). */
const MAX_SAFE_HIGH = 0x1f_ffff;

/**
 * Class- and byte-order-aware reads over the caller's bytes. The DataView is a window on the same buffer, so
 * decoding a 100 MB executable touches only the headers and the strings it needs, and copies nothing.
 */
export class ElfReader {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly layout: ClassLayout;
  /** true for ELFDATA2LSB. */
  readonly le: boolean;

  constructor(bytes: Uint8Array, layout: ClassLayout, le: boolean) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.layout = layout;
    this.le = le;
  }

  u16(offset: number): number {
    return this.view.getUint16(offset, this.le);
  }

  u32(offset: number): number {
    return this.view.getUint32(offset, this.le);
  }

  /** An address, offset or Xword: 4 bytes in ELF32, 8 in ELF64. */
  word(offset: number): bigint {
    return this.layout.wordSize === 8 ? this.view.getBigUint64(offset, this.le) : BigInt(this.view.getUint32(offset, this.le));
  }

  /** A signed word (d_tag). */
  signedWord(offset: number): bigint {
    return this.layout.wordSize === 8 ? this.view.getBigInt64(offset, this.le) : BigInt(this.view.getInt32(offset, this.le));
  }

  /** A word used as a JavaScript number (offsets, sizes): throws rather than lose precision above 2^53. */
  number(offset: number, what: string): number {
    if (this.layout.wordSize === 4) return this.view.getUint32(offset, this.le);
    // Two u32 halves rather than a BigInt: this runs for every section of every module kiln scans.
    const high = this.view.getUint32(offset + (this.le ? 4 : 0), this.le);
    const low = this.view.getUint32(offset + (this.le ? 0 : 4), this.le);
    if (high > MAX_SAFE_HIGH) {
      throw new DecodeError('ELF', what, offset, `value ${hex(this.word(offset))} does not fit a JavaScript number`);
    }
    return high * 2 ** 32 + low;
  }

  /** Throws unless `length` bytes from `start` lie inside the file. */
  within(start: number, length: number, what: string): void {
    const end = start + length;
    if (end > this.bytes.length) {
      throw new DecodeError('ELF', what, start, `${length} bytes end at ${hex(end)}, past end of file at ${hex(this.bytes.length)}`);
    }
  }

  /** The NUL-terminated string at `start`, which must end before `limit`. */
  cString(start: number, limit: number, what: string): string {
    const bytes = this.bytes;
    const end = Math.min(limit, bytes.length);
    // Section and library names are short ASCII: build them directly, TextDecoder only for anything else.
    let text = '';
    for (let i = start; i < end; i++) {
      const byte = bytes[i];
      if (byte === 0) return text;
      if (byte >= 0x80) {
        const nul = bytes.subarray(start, end).indexOf(0);
        if (nul < 0) break;
        return utf8.decode(bytes.subarray(start, start + nul));
      }
      text += String.fromCharCode(byte);
    }
    throw new DecodeError('ELF', what, start, `string not terminated before ${hex(limit)}`);
  }
}

export function hex(value: number | bigint): string {
  return `0x${value.toString(16)}`;
}
