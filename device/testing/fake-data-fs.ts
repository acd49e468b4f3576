/**
 * An in-memory DataFs for tests of the secondary config and the persisted logs: files, folders, open descriptors,
 * what was fsynced, and failures on demand (a read-only or full partition). Not shipped in the initramfs.
 */
import type { DataFs } from '../sys/data-fs.ts';

const TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EACCES: 'permission denied',
  EIO: 'i/o error',
};

export function errnoError(code: string, call: string, file: string): Error {
  return Object.assign(new Error(`${code}: ${TEXT[code] ?? 'error'}, ${call} '${file}'`), { code });
}

export interface FakeDataFs extends DataFs {
  files: Map<string, string>;
  dirs: Set<string>;
  /** "fsync <path>", "fsync-dir <dir>", "rename <a> <b>", "remove <path>", "replace <path>" in order. */
  events: string[];
  /** Make operations on `prefix` or below it (a folder) fail with `code`: 'write' (EROFS, ENOSPC) or 'read' (EIO). */
  fail(kind: 'read' | 'write', prefix: string, code: string): void;
  /** Writes fail with ENOSPC once this many more bytes were appended. */
  spaceLeft?: number;
}

export function fakeDataFs(initial: Record<string, string> = {}): FakeDataFs {
  const files = new Map(Object.entries(initial));
  const dirs = new Set<string>();
  const open = new Map<number, string>();
  const events: string[] = [];
  const failures: { kind: 'read' | 'write'; prefix: string; code: string }[] = [];
  let nextFd = 100;
  const parent = (file: string) => file.slice(0, file.lastIndexOf('/')) || '/';
  for (const file of files.keys()) for (let d = parent(file); d !== '/'; d = parent(d)) dirs.add(d);

  function check(kind: 'read' | 'write', call: string, file: string): void {
    const failure = failures.find((f) => f.kind === kind && (file === f.prefix || file.startsWith(`${f.prefix}/`)));
    if (failure) throw errnoError(failure.code, call, file);
  }
  function mustHaveDir(call: string, file: string): void {
    if (!dirs.has(parent(file))) throw errnoError('ENOENT', call, file);
  }
  function fdPath(fd: number): string {
    const file = open.get(fd);
    if (file === undefined) throw Object.assign(new Error(`EBADF: fd ${fd}`), { code: 'EBADF' });
    return file;
  }

  const fake: FakeDataFs = {
    files,
    dirs,
    events,
    fail: (kind, prefix, code) => void failures.push({ kind, prefix, code }),
    readText(file) {
      check('read', 'open', file);
      const text = files.get(file);
      if (text === undefined) throw errnoError('ENOENT', 'open', file);
      return text;
    },
    replaceFile(file, text) {
      fake.mkdirp(parent(file));
      check('write', 'open', `${file}.tmp`);
      files.set(file, text);
      events.push(`replace ${file}`);
    },
    mkdirp(dir) {
      if (dirs.has(dir)) return;
      check('write', 'mkdir', dir);
      for (let d = dir; d !== '/' && d !== ''; d = parent(d)) dirs.add(d);
    },
    openAppend(file) {
      mustHaveDir('open', file);
      if (!files.has(file)) {
        check('write', 'open', file);
        files.set(file, '');
      }
      const fd = nextFd++;
      open.set(fd, file);
      return fd;
    },
    append(fd, text) {
      const file = fdPath(fd);
      check('write', 'write', file);
      if (fake.spaceLeft !== undefined) {
        if (Buffer.byteLength(text) > fake.spaceLeft) throw errnoError('ENOSPC', 'write', file);
        fake.spaceLeft -= Buffer.byteLength(text);
      }
      files.set(file, (files.get(file) ?? '') + text);
    },
    size: (fd) => Buffer.byteLength(files.get(fdPath(fd)) ?? ''),
    fsync: (fd) => void events.push(`fsync ${fdPath(fd)}`),
    close(fd) {
      fdPath(fd);
      open.delete(fd);
    },
    rename(from, to) {
      check('write', 'rename', from);
      const text = files.get(from);
      if (text === undefined) throw errnoError('ENOENT', 'rename', from);
      files.delete(from);
      files.set(to, text);
      // An open descriptor follows its file, as on a real filesystem.
      for (const [fd, file] of open) if (file === from) open.set(fd, to);
      events.push(`rename ${from} ${to}`);
    },
    remove(file) {
      if (!files.has(file)) return;
      check('write', 'unlink', file);
      files.delete(file);
      events.push(`remove ${file}`);
    },
    fsyncDir: (dir) => void events.push(`fsync-dir ${dir}`),
  };
  return fake;
}
