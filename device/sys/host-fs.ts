/**
 * The few file operations the init makes on /proc, /sys, /dev and /etc, behind an interface so boot logic can be
 * tested on the host against an in-memory tree. Synchronous on purpose: these are pseudo-files (no disk behind them)
 * and the boot stages are sequential anyway.
 */
import * as fs from 'node:fs';

export interface HostFs {
  /** Whole file as UTF-8. Throws (with `code`, e.g. ENOENT) like node:fs. */
  readText(path: string): string;
  writeText(path: string, text: string): void;
  /** Entry names of a directory. */
  list(path: string): string[];
  /** `mkdir -p`. */
  mkdir(path: string, mode: number): void;
  openRead(path: string): number;
  /** Open for appending, e.g. /dev/kmsg where each write is one record. */
  openWrite(path: string): number;
  write(fd: number, text: string): void;
  close(fd: number): void;
  /** Whether anything is at `path` (file, folder, device). */
  exists(path: string): boolean;
}

// libuv opens every file with O_CLOEXEC, so container runtimes started later do not inherit these fds.
export const nodeHostFs: HostFs = {
  readText: (path) => fs.readFileSync(path, 'utf8'),
  writeText: (path, text) => fs.writeFileSync(path, text),
  list: (path) => fs.readdirSync(path),
  mkdir: (path, mode) => void fs.mkdirSync(path, { recursive: true, mode }),
  openRead: (path) => fs.openSync(path, fs.constants.O_RDONLY),
  openWrite: (path) => fs.openSync(path, fs.constants.O_WRONLY),
  write: (fd, text) => void fs.writeSync(fd, text),
  close: (fd) => fs.closeSync(fd),
  exists: (path) => fs.existsSync(path),
};
