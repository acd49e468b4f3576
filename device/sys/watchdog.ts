/**
 * The hardware watchdog through libc (koffi). Once its device is open, the watchdog resets the machine unless it is
 * petted within its timeout; the init pets it from its event loop (device/watchdog), so a hung init — or kernel —
 * ends in a reset instead of a device that looks alive and does nothing. Closing the device without the "magic
 * close" ('V' written first) leaves it counting down: only a clean shutdown disarms it.
 *
 * The ioctl numbers are built the way linux/watchdog.h builds them with asm-generic/ioctl.h, which x86_64 and arm64
 * both use, rather than copied as opaque hex.
 */
import { createRequire } from 'node:module';
import { syscallCheck } from './libc.ts';

/** asm-generic/ioctl.h: the direction bits, seen from user space. */
const IOC_WRITE = 1;
const IOC_READ = 2;

/** `_IOC(dir, type, nr, size)`: dir in bits 30-31, size 16-29, type 8-15, nr 0-7 (asm-generic/ioctl.h). */
export function ioc(dir: number, type: string, nr: number, size: number): number {
  return ((dir << 30) | (size << 16) | (type.charCodeAt(0) << 8) | nr) >>> 0;
}

/** linux/watchdog.h: WATCHDOG_IOCTL_BASE is 'W'; every request below takes an int. */
const INT_SIZE = 4;
/** `_IOR('W', 5, int)`: restart the countdown. */
export const WDIOC_KEEPALIVE = ioc(IOC_READ, 'W', 5, INT_SIZE);
/** `_IOWR('W', 6, int)`: set the timeout in seconds; the driver writes back the one it chose, and pets. */
export const WDIOC_SETTIMEOUT = ioc(IOC_READ | IOC_WRITE, 'W', 6, INT_SIZE);
/** `_IOR('W', 7, int)`: the timeout in effect. */
export const WDIOC_GETTIMEOUT = ioc(IOC_READ, 'W', 7, INT_SIZE);

/** fcntl.h (the same on x86_64 and arm64). O_CLOEXEC: services and crun must not inherit the watchdog. */
const O_WRONLY = 0o1;
const O_CLOEXEC = 0o2000000;

/** The character that arms the magic close (linux/watchdog.h, "Magic Close"). */
const MAGIC_CLOSE = 'V';

/** One open watchdog device. Every method throws `SyscallError` on failure. */
export interface WatchdogDevice {
  /** Sets the timeout and pets; returns the timeout the driver chose (it may round or clamp). */
  setTimeout(seconds: number): number;
  getTimeout(): number;
  /** Restarts the countdown: any write does, on every driver (WDIOC_KEEPALIVE needs WDIOF_KEEPALIVEPING). */
  pet(): void;
  /** Writes 'V', then closes: the driver stops the countdown. The device is closed even when the write fails. */
  magicClose(): void;
}

export interface WatchdogSys {
  /** Opens the device, which starts the countdown with the driver's current timeout. */
  open(path: string): WatchdogDevice;
}

/** A WatchdogSys that binds koffi on its first open: a device without a `watchdog` section never pays for it. */
export function lazyWatchdog(bind: () => WatchdogSys = openWatchdogSys): WatchdogSys {
  let sys: WatchdogSys | undefined;
  return { open: (path) => (sys ??= bind()).open(path) };
}

export function openWatchdogSys(): WatchdogSys {
  const require = createRequire(import.meta.url);
  const koffi = require('koffi') as typeof import('koffi');
  const lib = koffi.load('libc.so.6');
  // open and ioctl are variadic in glibc; the optional arguments are passed as (type, value) pairs.
  const open = lib.func('int open(const char *path, int flags, ...)');
  const ioctl = lib.func('int ioctl(int fd, unsigned long request, ...)');
  const write = lib.func('long write(int fd, const char *buf, size_t count)');
  const close = lib.func('int close(int fd)');
  const check = syscallCheck(koffi, lib);

  return {
    open(path) {
      const fd = check(open(path, O_WRONLY | O_CLOEXEC), `open(${path})`);
      const intIoctl = (request: number, name: string, value: number): number => {
        const arg = new Int32Array([value]);
        check(ioctl(fd, request, 'int *', arg), `ioctl(${path}, ${name})`);
        return arg[0]!;
      };
      const writeOne = (text: string, call: string): void => void check(write(fd, text, 1), call);
      return {
        setTimeout: (seconds) => intIoctl(WDIOC_SETTIMEOUT, 'WDIOC_SETTIMEOUT', seconds),
        getTimeout: () => intIoctl(WDIOC_GETTIMEOUT, 'WDIOC_GETTIMEOUT', 0),
        pet: () => writeOne('\0', `write(${path})`),
        magicClose() {
          try {
            writeOne(MAGIC_CLOSE, `write(${path}, magic close)`);
          } finally {
            check(close(fd), `close(${path})`);
          }
        },
      };
    },
  };
}
