/**
 * Unreadable on-disk structures (a superblock, a boot sector): the device reports them, never crashes on them.
 * Messages read like the host's DecodeError: "Cannot decode ext4 superblock at 0x438: bad magic 0x0000".
 */
export class SuperblockError extends SyntaxError {
  readonly format: string;
  /** Byte offset of the bad field from the start of the partition. */
  readonly offset: number;
  constructor(format: string, offset: number, reason: string) {
    super(`Cannot decode ${format} at 0x${offset.toString(16)}: ${reason}`);
    this.name = 'SuperblockError';
    this.format = format;
    this.offset = offset;
  }
}
