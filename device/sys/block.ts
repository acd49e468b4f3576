/**
 * Reading block devices and finding programs on the image: what the storage stage needs from the system beyond
 * HostFs (which is text-only, for pseudo-files).
 */
import * as fs from 'node:fs';

/**
 * `length` bytes at `offset` of a block device (or any file); fewer at its end. Opened and closed per call:
 * the storage stage reads a few KiB per device, once.
 */
export function readBlock(path: string, offset: number, length: number): Uint8Array {
  const fd = fs.openSync(path, fs.constants.O_RDONLY);
  try {
    const buffer = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const n = fs.readSync(fd, buffer, done, length - done, offset + done);
      if (n === 0) break;
      done += n;
    }
    return buffer.subarray(0, done);
  } finally {
    fs.closeSync(fd);
  }
}

/** The first of `paths` that is an executable file, if any. */
export function findExecutable(paths: readonly string[]): string | undefined {
  return paths.find((path) => {
    try {
      fs.accessSync(path, fs.constants.X_OK);
      return fs.statSync(path).isFile();
    } catch {
      return false;
    }
  });
}
