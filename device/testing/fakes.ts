/**
 * Test doubles for the init's two doors to the system (libc and the file tree), used by `device/**\/*.test.ts`.
 * Not shipped in the initramfs: the build leaves `device/testing/` out along with the tests.
 */
import type { HostFs } from '../sys/host-fs.ts';
import { SyscallError, type Libc } from '../sys/libc.ts';

const ERRNO: Record<string, [number, string]> = {
  EPERM: [1, 'Operation not permitted'],
  ENOENT: [2, 'No such file or directory'],
  ESRCH: [3, 'No such process'],
  EIO: [5, 'Input/output error'],
  ECHILD: [10, 'No child processes'],
  EBUSY: [16, 'Device or resource busy'],
  EEXIST: [17, 'File exists'],
  EINVAL: [22, 'Invalid argument'],
  ENOEXEC: [8, 'Exec format error'],
};

export function syscallError(call: string, code: string): SyscallError {
  const [errno, text] = ERRNO[code] ?? [0, 'Unknown error'];
  return new SyscallError(call, errno, code, text);
}

export interface FakeLibc extends Libc {
  /** Every call in order, e.g. "mount proc /proc proc 0xe -", "reboot 0x4321fedc". */
  calls: string[];
}

/**
 * A libc that records calls. `failures` maps a call's text (exactly as recorded) to an errno name it fails with;
 * `waitpidResults` says what waitpid returns per pid (default: the pid, i.e. reaped).
 */
export function fakeLibc(failures: Record<string, string> = {}, fdPaths?: Map<number, string>): FakeLibc {
  const calls: string[] = [];
  function record(call: string, errorCall: string): void {
    calls.push(call);
    const code = failures[call];
    if (code !== undefined) throw syscallError(errorCall, code);
  }
  const hex = (n: number) => `0x${(n >>> 0).toString(16)}`;
  return {
    calls,
    mount: (source, target, fstype, flags, data) => record(`mount ${source} ${target} ${fstype} ${hex(flags)} ${data ?? '-'}`, `mount(${target})`),
    umount2: (target, flags) => record(`umount2 ${target} ${flags}`, `umount2(${target})`),
    finitModule: (fd, path, params, flags) => {
      if (fdPaths !== undefined && fdPaths.get(fd) !== path) throw new Error(`fd ${fd} is not open on ${path}`);
      record(`finit_module ${path} '${params}' ${flags}`, `finit_module(${path})`);
    },
    sethostname: (name) => record(`sethostname ${name}`, `sethostname(${name})`),
    reboot: (cmd) => record(`reboot ${hex(cmd)}`, `reboot(${hex(cmd)})`),
    sync: () => record('sync', 'sync'),
    kill: (pid, signal) => record(`kill ${pid} ${signal}`, `kill(${pid}, ${signal})`),
    waitpid: (pid, options) => {
      record(`waitpid ${pid} ${options}`, `waitpid(${pid})`);
      return pid;
    },
  };
}

export interface FakeFs extends HostFs {
  files: Map<string, string>;
  /** Everything written per path, in order (one entry per write). */
  written: Map<string, string[]>;
  /** fd → path of files currently open. */
  open: Map<number, string>;
  dirs: string[];
}

function enoent(path: string): Error {
  return Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' });
}

/** An in-memory tree from path → content; directories exist when some file lies below them. */
export function fakeFs(initial: Record<string, string> = {}): FakeFs {
  const files = new Map(Object.entries(initial));
  const written = new Map<string, string[]>();
  const open = new Map<number, string>();
  const dirs: string[] = [];
  let nextFd = 10;
  const openPath = (path: string) => {
    const fd = nextFd++;
    open.set(fd, path);
    return fd;
  };
  return {
    files,
    written,
    open,
    dirs,
    readText(path) {
      const text = files.get(path);
      if (text === undefined) throw enoent(path);
      return text;
    },
    writeText(path, text) {
      written.set(path, [...(written.get(path) ?? []), text]);
    },
    list(path) {
      const prefix = path.endsWith('/') ? path : `${path}/`;
      const names = new Set<string>();
      for (const file of files.keys()) if (file.startsWith(prefix)) names.add(file.slice(prefix.length).split('/')[0]);
      if (names.size === 0 && !dirs.includes(path)) throw enoent(path);
      return [...names];
    },
    mkdir(path) {
      dirs.push(path);
    },
    openRead(path) {
      if (!files.has(path)) throw enoent(path);
      return openPath(path);
    },
    openWrite: (path) => openPath(path),
    write(fd, text) {
      const path = open.get(fd);
      if (path === undefined) throw new Error(`EBADF: fd ${fd}`);
      written.set(path, [...(written.get(path) ?? []), text]);
    },
    close(fd) {
      if (!open.delete(fd)) throw new Error(`EBADF: fd ${fd}`);
    },
    exists(path) {
      const prefix = path.endsWith('/') ? path : `${path}/`;
      return files.has(path) || dirs.includes(path) || [...files.keys()].some((f) => f.startsWith(prefix));
    },
  };
}

/** /proc/<pid>/stat text for a process, as the kernel writes it (fields after flags elided). */
export function statLine(pid: number, comm: string, state: string, ppid: number, flags = 0x400100): string {
  return `${pid} (${comm}) ${state} ${ppid} ${pid} ${pid} 0 -1 ${flags} 100 0 0 0 1 2 0 0 20 0 1 0 50 1000 10\n`;
}
