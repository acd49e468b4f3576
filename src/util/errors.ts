/**
 * kiln's error policy (see STYLE.md):
 * - `KilnError` is what the CLI prints as one line (no stack unless `--debug`); it carries a stable `code`
 *   and, where known, where the problem is (`file:line:col`, a key path, a byte offset).
 * - Codecs throw `DecodeError` for unparseable bytes ("Cannot decode cpio header at 0x70: bad magic"),
 *   `RangeError` for values that do not fit a field, `TypeError` for a wrong shape.
 */
export class KilnError extends Error {
  readonly code: string;
  /** Extra line telling the user what to do, printed after the message. */
  readonly hint?: string;
  constructor(code: string, message: string, options?: { hint?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KilnError';
    this.code = code;
    this.hint = options?.hint;
  }
}

/** Unparseable binary input: one class for host and device (device/contract/decode-error.ts). */
export { DecodeError } from '../../device/contract/decode-error.ts';
