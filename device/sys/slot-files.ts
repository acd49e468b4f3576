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
  /** Remove everything in `dir` (a mounted slot), leaving `dir` itself. */
  clear(dir: string): void;
  exists(file: string): boolean;
  fsyncDir(dir: string): void;
  /** A file's size in bytes. */
  size(file: string): number;
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
  clear(dir) {
    for (const name of fs.readdirSync(dir)) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
    nodeDataFs.fsyncDir(dir);
  },
  exists: (file) => fs.existsSync(file),
  // The same directory fsync as the writable partitions' files.
  fsyncDir: (dir) => nodeDataFs.fsyncDir(dir),
  size: (file) => fs.statSync(file).size,
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

/**
 * Size and SHA-256 (hex) of a file as read now, a chunk at a time with the event loop let through between chunks:
 * a firmware is tens of MB, and under a slow disk a read in one go would starve the watchdog's petting and the API.
 */
export async function digestOf(files: SlotFiles, file: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for (const chunk of files.chunks(file)) {
    hash.update(chunk);
    size += chunk.length;
    await letThrough();
  }
  return { size, sha256: hash.digest('hex') };
}

/** One turn of the event loop for timers and sockets, between two synchronous chunks of a long job. */
export function letThrough(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
