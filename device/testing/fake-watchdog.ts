/**
 * A WatchdogSys for the watchdog stage's tests: records every call as text, fails a call on demand with an errno,
 * and lets a driver choose a timeout other than the one asked (as real drivers round). Not shipped in the initramfs.
 */
import type { WatchdogSys } from '../sys/watchdog.ts';
import { syscallError } from './fakes.ts';

export interface FakeWatchdog extends WatchdogSys {
  /** "open /dev/watchdog", "settimeout 30", "pet", "magic close", in order. */
  calls: string[];
  /** Whether the countdown runs: opened, and no magic close succeeded since. */
  armed(): boolean;
}

/**
 * `failures` maps a call's text (as recorded) to the errno name it fails with; `chosen` maps an asked timeout to the
 * one the driver takes instead.
 */
export function fakeWatchdog(options: { failures?: Record<string, string>; chosen?: Record<number, number> } = {}): FakeWatchdog {
  const calls: string[] = [];
  let open = false;
  const record = (call: string, errorCall: string): void => {
    calls.push(call);
    const code = options.failures?.[call];
    if (code !== undefined) throw syscallError(errorCall, code);
  };
  return {
    calls,
    armed: () => open,
    open(path) {
      record(`open ${path}`, `open(${path})`);
      open = true;
      let timeout = 60;
      return {
        setTimeout(seconds) {
          record(`settimeout ${seconds}`, `ioctl(${path}, WDIOC_SETTIMEOUT)`);
          timeout = options.chosen?.[seconds] ?? seconds;
          return timeout;
        },
        getTimeout() {
          record('gettimeout', `ioctl(${path}, WDIOC_GETTIMEOUT)`);
          return timeout;
        },
        pet: () => record('pet', `write(${path})`),
        magicClose() {
          record('magic close', `write(${path}, magic close)`);
          open = false;
        },
      };
    },
  };
}
