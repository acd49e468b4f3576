/**
 * File operations on the device's writable partitions (the secondary config, the persisted logs), behind an
 * interface so the boot logic is tested on the host against an in-memory tree (`testing/fake-data-fs.ts`).
 *
 * Unlike HostFs (pseudo-files), these files must survive a power cut: `replaceFile` never leaves a half-written file
 * behind, and callers fsync what they append at the moments that matter. Errors are node:fs's, with `code`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface DataFs {
  /** Whole file as UTF-8. */
  readText(file: string): string;
  /** Make `file` hold `text` or keep its old content, even across a power cut: temp file, fsync, rename, fsync folder. */
  replaceFile(file: string, text: string): void;
  /** `mkdir -p`. */
  mkdirp(dir: string): void;
  /** Open for appending, creating the file (0644). */
  openAppend(file: string): number;
  append(fd: number, text: string): void;
  /** Current size of an open file in bytes. */
  size(fd: number): number;
  fsync(fd: number): void;
  close(fd: number): void;
  rename(from: string, to: string): void;
  /** Delete a file; one that does not exist is fine. */
  remove(file: string): void;
  /** Persist a folder's entries (a rename or a new file in it). */
  fsyncDir(dir: string): void;
}

export const nodeDataFs: DataFs = {
  readText: (file) => fs.readFileSync(file, 'utf8'),
  replaceFile(file, text) {
    const dir = path.dirname(file);
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    const temp = `${file}.tmp`;
    const fd = fs.openSync(temp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC, 0o644);
    try {
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, file);
    nodeDataFs.fsyncDir(dir);
  },
  mkdirp: (dir) => void fs.mkdirSync(dir, { recursive: true, mode: 0o755 }),
  openAppend: (file) => fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, 0o644),
  append(fd, text) {
    const bytes = Buffer.from(text);
    // A short write (a nearly full disk) would otherwise drop the rest of the line silently.
    for (let done = 0; done < bytes.length;) done += fs.writeSync(fd, bytes, done);
  },
  size: (fd) => fs.fstatSync(fd).size,
  fsync: (fd) => fs.fsyncSync(fd),
  close: (fd) => fs.closeSync(fd),
  rename: (from, to) => fs.renameSync(from, to),
  remove(file) {
    try {
      fs.unlinkSync(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  },
  fsyncDir(dir) {
    const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  },
};
