/**
 * An append-only log file capped at `maxBytes`: when a write would take it past the cap it becomes `<file>.1`, the
 * older ones shift up to `<file>.<keep>` and the oldest is deleted. The old file is fsynced before the rename and the
 * folder after it, so a power cut leaves either the old or the new layout, never a lost file.
 */
import type { DataFs } from '../sys/data-fs.ts';

export interface RotatingFile {
  readonly path: string;
  write(text: string): void;
  /** fsync when something was written since the last one. */
  sync(): void;
  /** fsync and close; further writes throw. */
  close(): void;
}

export interface RotationLimits {
  maxBytes: number;
  /** Rotated files kept. */
  keep: number;
}

export function openRotatingFile(data: DataFs, path: string, limits: RotationLimits): RotatingFile {
  let fd: number | undefined = data.openAppend(path);
  let size = data.size(fd);
  let dirty = false;

  function rotate(): void {
    data.fsync(fd!);
    data.close(fd!);
    fd = undefined;
    data.remove(`${path}.${limits.keep}`);
    for (let i = limits.keep - 1; i >= 1; i--) renameIfThere(`${path}.${i}`, `${path}.${i + 1}`);
    data.rename(path, `${path}.1`);
    data.fsyncDir(path.slice(0, path.lastIndexOf('/')) || '/');
    fd = data.openAppend(path);
    size = 0;
  }

  function renameIfThere(from: string, to: string): void {
    try {
      data.rename(from, to);
    } catch (error) {
      if ((error as { code?: string }).code !== 'ENOENT') throw error;
    }
  }

  return {
    path,
    write(text) {
      if (fd === undefined) throw new Error(`${path}: closed`);
      const bytes = Buffer.byteLength(text);
      // A line longer than the cap still gets written, alone in a fresh file.
      if (size > 0 && size + bytes > limits.maxBytes) rotate();
      data.append(fd, text);
      size += bytes;
      dirty = true;
    },
    sync() {
      if (fd === undefined || !dirty) return;
      data.fsync(fd);
      dirty = false;
    },
    close() {
      if (fd === undefined) return;
      const open = fd;
      fd = undefined;
      try {
        if (dirty) data.fsync(open);
      } finally {
        data.close(open);
      }
    },
  };
}
