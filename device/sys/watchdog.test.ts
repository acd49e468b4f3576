import { describe, expect, it } from 'vitest';
import { SyscallError } from './libc.ts';
import { ioc, lazyWatchdog, openWatchdogSys, WDIOC_GETTIMEOUT, WDIOC_KEEPALIVE, WDIOC_SETTIMEOUT, type WatchdogSys } from './watchdog.ts';

describe('watchdog ioctl numbers', () => {
  it('are the ones linux/watchdog.h gives, on x86_64 and arm64 alike (printed by a C program from the header)', () => {
    expect(WDIOC_KEEPALIVE).toBe(0x80045705);
    expect(WDIOC_SETTIMEOUT).toBe(0xc0045706);
    expect(WDIOC_GETTIMEOUT).toBe(0x80045707);
  });
  it('_IOC puts the direction above the size, the type and the number', () => {
    expect(ioc(0, 'T', 0x1b, 0)).toBe(0x541b); // FIONREAD's shape: _IO('T', 0x1b)
  });
});

describe('lazyWatchdog', () => {
  it('binds on the first open, once', () => {
    let bound = 0;
    const opened: string[] = [];
    const real: WatchdogSys = {
      open: (path) => {
        opened.push(path);
        return { setTimeout: (s) => s, getTimeout: () => 30, pet() {}, magicClose() {} };
      },
    };
    const sys = lazyWatchdog(() => (bound++, real));
    expect(bound).toBe(0); // a device without a watchdog section never binds koffi
    sys.open('/dev/watchdog');
    sys.open('/dev/watchdog1');
    expect(bound).toBe(1);
    expect(opened).toEqual(['/dev/watchdog', '/dev/watchdog1']);
  });
});

describe('openWatchdogSys (koffi, on this host)', () => {
  // /dev/null takes the writes a pet and a magic close make, and refuses the watchdog ioctls as the kernel does
  // for a device that is no watchdog: the binding's calls and errors, without a watchdog that would reset the host.
  it('writes, closes, and reports a refused ioctl with its errno', () => {
    const device = openWatchdogSys().open('/dev/null');
    device.pet();
    const error = (() => {
      try {
        device.setTimeout(30);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(SyscallError);
    expect((error as SyscallError).message).toBe('ioctl(/dev/null, WDIOC_SETTIMEOUT): Inappropriate ioctl for device (ENOTTY)');
    device.magicClose();
  });
  it('names the path when the device is not there', () => {
    expect(() => openWatchdogSys().open('/dev/kiln-no-watchdog')).toThrow('open(/dev/kiln-no-watchdog): No such file or directory (ENOENT)');
  });
});
