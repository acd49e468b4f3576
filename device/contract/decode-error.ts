/**
 * The one error for unparseable binary input, on the host and on the device: "Cannot decode <format> <what> at
 * 0x<offset>: <reason>", with `format` and `offset` (the byte offset of the bad field) for code that reports it.
 * Deno std's policy: a SyntaxError subclass for input that cannot be decoded.
 */
export class DecodeError extends SyntaxError {
  /** The format being decoded, e.g. "GPT", "DHCP". */
  readonly format: string;
  readonly offset: number;
  constructor(format: string, what: string, offset: number, reason: string) {
    const subject = what === '' ? format : `${format} ${what}`;
    super(`Cannot decode ${subject} at 0x${offset.toString(16)}: ${reason}`);
    this.name = 'DecodeError';
    this.format = format;
    this.offset = offset;
  }
}
