/**
 * The cpio "newc" layout shared by the encoder and the decoder.
 *
 * We write the codec ourselves instead of shelling out to cpio(1): the initramfs must be byte-for-byte
 * reproducible (sorted entries, uid/gid 0, fixed mtime, sequential inodes), must carry device nodes and root-owned
 * files without running as root, must build on hosts without cpio installed, and must be concatenable, because the
 * kernel unpacks several archives placed back to back (Documentation/driver-api/early-userspace/buffer-format.rst).
 */

/** One archive member. `mode` is the permission bits only (0..0o7777); the file type comes from `type`. */
export type CpioEntry =
  | { type: 'file'; path: string; mode: number; data: Uint8Array }
  | { type: 'dir'; path: string; mode: number }
  | { type: 'symlink'; path: string; target: string }
  | { type: 'char' | 'block'; path: string; mode: number; major: number; minor: number };

export const NEWC_MAGIC = '070701';
/** The "crc" variant: same layout, `check` holds the byte sum of the file data. Read, never written. */
export const CRC_MAGIC = '070702';
export const HEADER_SIZE = 110;
export const TRAILER_NAME = 'TRAILER!!!';
/** The kernel silently skips entries whose namesize (with the NUL) or symlink target exceeds PATH_MAX. */
export const PATH_MAX = 4096;
export const U32_MAX = 0xffff_ffff;

/** Offsets of the 8-hex-digit header fields; the magic (6) sits @0. */
export const FIELD = {
  ino: 6, // c_ino (8) @6
  mode: 14, // c_mode (8) @14
  uid: 22, // c_uid (8) @22
  gid: 30, // c_gid (8) @30
  nlink: 38, // c_nlink (8) @38
  mtime: 46, // c_mtime (8) @46
  filesize: 54, // c_filesize (8) @54
  devmajor: 62, // c_devmajor (8) @62
  devminor: 70, // c_devminor (8) @70
  rdevmajor: 78, // c_rdevmajor (8) @78
  rdevminor: 86, // c_rdevminor (8) @86
  namesize: 94, // c_namesize (8) @94, includes the trailing NUL
  check: 102, // c_check (8) @102, 0 unless CRC_MAGIC
} as const;
export type FieldName = keyof typeof FIELD;
export const FIELD_SIZE = 8;

// File type bits of c_mode (S_IFMT and friends from <sys/stat.h>).
export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const PERMISSION_BITS = 0o7777;

/** Rounds up to the next multiple of 4: the header+name and the data are each padded to 4 bytes. */
export function align4(n: number): number {
  const rest = n % 4; // not `(n + 3) & ~3`: bitwise ops wrap above 2 GiB
  return rest === 0 ? n : n + 4 - rest;
}
