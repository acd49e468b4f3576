/**
 * cpio "newc": the archive format of the Linux initramfs.
 *
 * kiln writes it itself rather than running cpio(1): the image must be reproducible byte for byte (sorted entries,
 * uid/gid 0, fixed mtime, sequential inodes), device nodes and root-owned files must not need root, the build must
 * not depend on a host tool, and archives must concatenate cleanly, since the kernel unpacks several back to back.
 */
export type { CpioEntry } from './_newc.js';
export { encodeCpio, type EncodeCpioOptions } from './encode.js';
export { decodeCpio, type DecodedCpio } from './decode.js';
