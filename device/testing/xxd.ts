/**
 * Bytes from an `xxd` dump, so golden images stay readable in the tests that use them: only the non-zero lines
 * need to be written. Not shipped (the build leaves `device/testing/` out).
 */

/**
 * A `size`-byte buffer, zero except for the dump's lines, each placed at `base` + the line's own offset.
 * @example fromDump(2048, 0x400, '00000030: 00f1 5365 0000 ffff 53ef 0100 0100 0000')
 */
export function fromDump(size: number, base: number, dump: string): Uint8Array {
  const bytes = new Uint8Array(size);
  for (const line of dump.split('\n')) {
    const match = /^([0-9a-f]{8}):((?: [0-9a-f]{2,4})+)/i.exec(line.trim());
    if (match === null) continue;
    const hex = match[2].replace(/ /g, '');
    const at = base + parseInt(match[1], 16);
    for (let i = 0; i < hex.length; i += 2) bytes[at + i / 2] = parseInt(hex.slice(i, i + 2), 16);
  }
  return bytes;
}
