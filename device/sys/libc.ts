/**
 * The only door from kiln's init to the kernel: libc calls through koffi (FFI), behind the `Libc` interface so
 * every decision above it runs on the host with a fake (see `device/init/*.test.ts`).
 *
 * Each method throws `SyscallError` when the call fails, so callers never look at -1 and errno themselves.
 * koffi is loaded lazily in `openLibc()`: importing this file for its constants or types loads no native code.
 */
import { createRequire } from 'node:module';

/** mount(2) flags (linux/mount.h): defined beside the mount-option parser the host shares. */
export {
  MS_RDONLY,
  MS_NOSUID,
  MS_NODEV,
  MS_NOEXEC,
  MS_SYNCHRONOUS,
  MS_DIRSYNC,
  MS_NOSYMFOLLOW,
  MS_NOATIME,
  MS_NODIRATIME,
  MS_SILENT,
  MS_RELATIME,
  MS_STRICTATIME,
  MS_LAZYTIME,
} from '../formats/mount-flags.ts';

/** umount2(2): detach now, clean up when the last user goes away ("lazy" unmount). */
export const MNT_DETACH = 0x2;

/** reboot(2) commands as glibc's `reboot(int howto)` takes them (sys/reboot.h). */
export const RB_AUTOBOOT = 0x01234567;
export const RB_POWER_OFF = 0x4321fedc;
/** Ctrl-alt-del no longer reboots at once: the kernel sends SIGINT to PID 1 instead. */
export const RB_DISABLE_CAD = 0;

/** waitpid(2): return 0 instead of blocking when the child has not changed state. */
export const WNOHANG = 1;

/** finit_module(2) flag: the kernel decompresses `.ko.xz`/`.ko.zst`/`.ko.gz` itself (Linux 5.17+). */
export const MODULE_INIT_COMPRESSED_FILE = 4;

export const SIGKILL = 9;
export const SIGTERM = 15;

/** A failed libc call: which call (with its main argument) and the errno, as number, name and text. */
export class SyscallError extends Error {
  readonly call: string;
  readonly errno: number;
  /** errno name, e.g. `EEXIST`; `E<number>` when unknown. */
  readonly code: string;
  constructor(call: string, errno: number, code: string, text: string) {
    super(`${call}: ${text} (${code})`);
    this.name = 'SyscallError';
    this.call = call;
    this.errno = errno;
    this.code = code;
  }
}

/** The kernel calls kiln's init makes. Every method throws `SyscallError` on failure. */
export interface Libc {
  mount(source: string, target: string, fstype: string, flags: number, data: string | null): void;
  umount2(target: string, flags: number): void;
  /** Load the kernel module in the open file `fd` (`path` only names it in errors). */
  finitModule(fd: number, path: string, params: string, flags: number): void;
  sethostname(name: string): void;
  /** Takes one of the `RB_*` commands; returns only when the command is RB_DISABLE_CAD (or fails). */
  reboot(cmd: number): void;
  sync(): void;
  kill(pid: number, signal: number): void;
  /**
   * Returns the pid that was reaped, or 0 with WNOHANG when it has not exited yet. With `status`, its wait status
   * (decode with `decodeWaitStatus`) is stored there.
   */
  waitpid(pid: number, options: number, status?: { value: number }): number;
}

/** finit_module has no glibc wrapper (2.36): call it by number, which differs per architecture. */
const SYS_FINIT_MODULE: Partial<Record<string, number>> = { x64: 313, arm64: 273 };

type Koffi = typeof import('koffi');

/**
 * A checker for libc calls bound through koffi: returns the result, or throws SyscallError (errno name and
 * strerror text) for -1. Read errno right after the call, before any other JS can run a libc call that changes it.
 */
export function syscallCheck(koffi: Koffi, lib: ReturnType<Koffi['load']>): (result: number | bigint, call: string) => number {
  const strerror = lib.func('const char *strerror(int errnum)');
  const errnoNames = new Map<number, string>();
  for (const [name, value] of Object.entries(koffi.os.errno)) if (!errnoNames.has(value)) errnoNames.set(value, name);
  return (result, call) => {
    const value = Number(result);
    if (value !== -1) return value;
    const errno = koffi.errno();
    throw new SyscallError(call, errno, errnoNames.get(errno) ?? `E${errno}`, String(strerror(errno)));
  };
}

/** Bind libc with koffi. Throws when koffi or libc cannot be loaded (the caller treats that as a crash). */
export function openLibc(): Libc {
  const require = createRequire(import.meta.url);
  const koffi = require('koffi') as typeof import('koffi');
  const lib = koffi.load('libc.so.6');

  const mount = lib.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)');
  const umount2 = lib.func('int umount2(const char *target, int flags)');
  const sethostname = lib.func('int sethostname(const char *name, size_t len)');
  const reboot = lib.func('int reboot(int howto)');
  const sync = lib.func('void sync(void)');
  const kill = lib.func('int kill(int pid, int sig)');
  const waitpid = lib.func('int waitpid(int pid, _Out_ int *status, int options)');
  const syscall = lib.func('long syscall(long number, ...)');
  const check = syscallCheck(koffi, lib);

  const finitNumber = SYS_FINIT_MODULE[process.arch];

  return {
    mount: (source, target, fstype, flags, data) => void check(mount(source, target, fstype, flags, data), `mount(${target})`),
    umount2: (target, flags) => void check(umount2(target, flags), `umount2(${target})`),
    finitModule: (fd, path, params, flags) => {
      if (finitNumber === undefined) throw new Error(`finit_module: no syscall number for arch ${process.arch}`);
      // Variadic arguments are passed as (type, value) pairs; `long` fills the whole register syscall() reads.
      check(syscall(finitNumber, 'long', fd, 'const char *', params, 'long', flags), `finit_module(${path})`);
    },
    sethostname: (name) => void check(sethostname(name, Buffer.byteLength(name)), `sethostname(${name})`),
    // glibc declares `int howto`: RB_POWER_OFF etc. do not fit a signed int unless wrapped with `| 0`.
    reboot: (cmd) => void check(reboot(cmd | 0), `reboot(0x${(cmd >>> 0).toString(16)})`),
    sync: () => void sync(),
    kill: (pid, signal) => void check(kill(pid, signal), `kill(${pid}, ${signal})`),
    waitpid: (pid, options, status) => {
      const out = [0];
      const reaped = check(waitpid(pid, out, options), `waitpid(${pid})`);
      if (status !== undefined) status.value = out[0]!;
      return reaped;
    },
  };
}

/** A wait status as waitpid(2) stores it: exited with a code, or killed by a signal (number). */
export function decodeWaitStatus(status: number): { code: number | null; signal: number | null } {
  const low = status & 0x7f;
  return low === 0 ? { code: (status >> 8) & 0xff, signal: null } : { code: null, signal: low };
}
