/**
 * Real-time scheduling of another process through libc (koffi): the policy and priority (sched_setscheduler) and
 * the CPU affinity (sched_setaffinity), and reading both back. The init applies them to a container's process
 * between `crun create` and `crun start`, because crun 1.8 ignores the runtime spec's `process.scheduler`.
 */
import { createRequire } from 'node:module';
import { syscallCheck } from './libc.ts';

export const SCHED_OTHER = 0;
export const SCHED_FIFO = 1;
export const SCHED_RR = 2;
/** Threads created after the policy is set inherit it; SCHED_RESET_ON_FORK would undo that for children. */
export const POLICY_NAMES: Readonly<Record<number, string>> = {
  0: 'SCHED_OTHER',
  1: 'SCHED_FIFO',
  2: 'SCHED_RR',
  3: 'SCHED_BATCH',
  5: 'SCHED_IDLE',
  6: 'SCHED_DEADLINE',
};

/** cpu_set_t is 1024 bits in glibc. */
const CPU_SET_BYTES = 128;

export interface Sched {
  setScheduler(pid: number, policy: number, priority: number): void;
  getScheduler(pid: number): { policy: number; priority: number };
  setAffinity(pid: number, cpus: readonly number[]): void;
  getAffinity(pid: number): number[];
}

export function cpuMask(cpus: readonly number[]): Buffer {
  const mask = Buffer.alloc(CPU_SET_BYTES);
  for (const cpu of cpus) mask[cpu >> 3]! |= 1 << (cpu & 7);
  return mask;
}

export function cpusOfMask(mask: Buffer): number[] {
  const cpus: number[] = [];
  for (let cpu = 0; cpu < mask.length * 8; cpu++) if (mask[cpu >> 3]! & (1 << (cpu & 7))) cpus.push(cpu);
  return cpus;
}

/** A Sched that binds koffi on its first call: stages get it from their context, and a device without
 * real-time containers never pays for the binding. */
export function lazySched(open: () => Sched = openSched): Sched {
  let sched: Sched | undefined;
  const get = () => (sched ??= open());
  return {
    setScheduler: (pid, policy, priority) => get().setScheduler(pid, policy, priority),
    getScheduler: (pid) => get().getScheduler(pid),
    setAffinity: (pid, cpus) => get().setAffinity(pid, cpus),
    getAffinity: (pid) => get().getAffinity(pid),
  };
}

export function openSched(): Sched {
  const require = createRequire(import.meta.url);
  const koffi = require('koffi') as typeof import('koffi');
  const lib = koffi.load('libc.so.6');
  // struct sched_param is one int (sched_priority).
  const setscheduler = lib.func('int sched_setscheduler(int pid, int policy, const int *param)');
  const getscheduler = lib.func('int sched_getscheduler(int pid)');
  const getparam = lib.func('int sched_getparam(int pid, _Out_ int *param)');
  const setaffinity = lib.func('int sched_setaffinity(int pid, size_t size, const uint8_t *mask)');
  const getaffinity = lib.func('int sched_getaffinity(int pid, size_t size, _Out_ uint8_t *mask)');
  const check = syscallCheck(koffi, lib);
  return {
    setScheduler: (pid, policy, priority) => void check(setscheduler(pid, policy, [priority]), `sched_setscheduler(${pid})`),
    getScheduler: (pid) => {
      const param = [0];
      const policy = check(getscheduler(pid), `sched_getscheduler(${pid})`);
      check(getparam(pid, param), `sched_getparam(${pid})`);
      return { policy, priority: param[0]! };
    },
    setAffinity: (pid, cpus) => void check(setaffinity(pid, CPU_SET_BYTES, cpuMask(cpus)), `sched_setaffinity(${pid})`),
    getAffinity: (pid) => {
      const mask = Buffer.alloc(CPU_SET_BYTES);
      check(getaffinity(pid, CPU_SET_BYTES, mask), `sched_getaffinity(${pid})`);
      return cpusOfMask(mask);
    },
  };
}
