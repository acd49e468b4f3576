/**
 * The wall clock's door to the kernel: CLOCK_REALTIME read and set through koffi (clock_gettime/clock_settime),
 * behind the `Clock` interface so the time service runs on the host against a fake.
 */
import { createRequire } from 'node:module';
import { SyscallError } from './libc.ts';

const CLOCK_REALTIME = 0;
const NS_PER_S = 1_000_000_000n;

export interface Clock {
  /** Adds `offsetMs` (fractional ms kept to the nanosecond) to CLOCK_REALTIME. Throws SyscallError. */
  stepRealtime(offsetMs: number): void;
}

export function openClock(): Clock {
  const require = createRequire(import.meta.url);
  const koffi = require('koffi') as typeof import('koffi');
  const lib = koffi.load('libc.so.6');
  // struct timespec on 64-bit Linux: tv_sec (8) @0, tv_nsec (8) @8.
  const clockGettime = lib.func('int clock_gettime(int clock, void *ts)');
  const clockSettime = lib.func('int clock_settime(int clock, const void *ts)');
  const strerror = lib.func('const char *strerror(int errnum)');
  const errnoNames = new Map<number, string>();
  for (const [name, value] of Object.entries(koffi.os.errno)) if (!errnoNames.has(value)) errnoNames.set(value, name);
  const check = (result: number, call: string) => {
    if (result !== -1) return;
    const errno = koffi.errno();
    throw new SyscallError(call, errno, errnoNames.get(errno) ?? `E${errno}`, String(strerror(errno)));
  };
  const ts = Buffer.alloc(16);
  return {
    stepRealtime(offsetMs) {
      // Read and write back to back, so the time between them is not lost.
      check(clockGettime(CLOCK_REALTIME, ts), 'clock_gettime(CLOCK_REALTIME)');
      const now = ts.readBigInt64LE(0) * NS_PER_S + ts.readBigInt64LE(8);
      const target = now + BigInt(Math.round(offsetMs * 1e6));
      ts.writeBigInt64LE(target / NS_PER_S, 0);
      ts.writeBigInt64LE(target % NS_PER_S, 8);
      check(clockSettime(CLOCK_REALTIME, ts), 'clock_settime(CLOCK_REALTIME)');
    },
  };
}
