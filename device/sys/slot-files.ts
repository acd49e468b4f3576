/**
 * Binary files on a boot slot's FAT: a new firmware is streamed into a temporary file, fsynced, renamed into place
 * and read back. Behind an interface so the update logic is tested against an in-memory slot.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { nodeDataFs } from './data-fs.ts';

export interface SlotFiles {
  /** Create (or truncate) `file` for writing, making its folders. */
  create(file: string): number;
  /** Write all of `bytes` (a short write is retried; ENOSPC throws). */
  write(fd: number, bytes: Uint8Array): void;
  fsync(fd: number): void;
  close(fd: number): void;
  rename(from: string, to: string): void;
  remove(file: string): void;
  exists(file: string): boolean;
  fsyncDir(dir: string): void;
  /** Size and SHA-256 (hex) of a file as read now. */
  digest(file: string): { size: number; sha256: string };
  /** Free bytes on the filesystem holding `dir`. */
  freeBytes(dir: string): number;
  /** A file's content in chunks of at most 1 MiB. */
  chunks(file: string): Iterable<Uint8Array>;
  /** Drop clean page-cache pages, so a read-back comes from the disk, not from what was just written. */
  dropCaches(): void;
}

export const nodeSlotFiles: SlotFiles = {
  create(file) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    return fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC, 0o644);
  },
  write(fd, bytes) {
    for (let done = 0; done < bytes.length;) done += fs.writeSync(fd, bytes, done);
  },
  fsync: (fd) => fs.fsyncSync(fd),
  close: (fd) => fs.closeSync(fd),
  rename: (from, to) => fs.renameSync(from, to),
  remove: (file) => fs.rmSync(file, { force: true }),
  exists: (file) => fs.existsSync(file),
  // The same directory fsync as the writable partitions' files.
  fsyncDir: (dir) => nodeDataFs.fsyncDir(dir),
  digest(file) {
    const hash = createHash('sha256');
    const fd = fs.openSync(file, fs.constants.O_RDONLY);
    const buffer = Buffer.alloc(1 << 20);
    let size = 0;
    try {
      for (let n; (n = fs.readSync(fd, buffer, 0, buffer.length, null)) > 0;) {
        hash.update(buffer.subarray(0, n));
        size += n;
      }
    } finally {
      fs.closeSync(fd);
    }
    return { size, sha256: hash.digest('hex') };
  },
  freeBytes(dir) {
    const s = fs.statfsSync(dir);
    return s.bavail * s.bsize;
  },
  dropCaches: () => fs.writeFileSync('/proc/sys/vm/drop_caches', '1'),
  *chunks(file) {
    const fd = fs.openSync(file, fs.constants.O_RDONLY);
    try {
      const buffer = Buffer.alloc(1 << 20);
      for (let n; (n = fs.readSync(fd, buffer, 0, buffer.length, null)) > 0;) yield buffer.subarray(0, n);
    } finally {
      fs.closeSync(fd);
    }
  },
};
