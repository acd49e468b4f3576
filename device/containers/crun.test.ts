import { describe, expect, test } from 'vitest';
import { SCHED_FIFO, SCHED_RR, type Sched } from '../sys/sched.ts';
import { applyRealtime } from './crun.ts';
import { parseCpuList } from './cpus.ts';
import { cpuIssues } from './stage.ts';
import { containerSchema } from '../contract/config/containers-schema.ts';
import { deviceNumbers } from './bundle.ts';

function fakeSched(override: Partial<{ policy: number; priority: number; cpus: number[] }> = {}): Sched & { calls: string[] } {
  const state = { policy: 0, priority: 0, cpus: [0, 1] };
  const calls: string[] = [];
  return {
    calls,
    setScheduler: (pid, policy, priority) => void (calls.push(`sched ${pid} ${policy} ${priority}`), Object.assign(state, { policy, priority })),
    getScheduler: () => ({ policy: override.policy ?? state.policy, priority: override.priority ?? state.priority }),
    setAffinity: (pid, cpus) => void (calls.push(`affinity ${pid} ${cpus.join(',')}`), (state.cpus = [...cpus])),
    getAffinity: () => override.cpus ?? state.cpus,
  };
}

describe('applyRealtime', () => {
  test('affinity first, then the policy; reads both back', () => {
    const sched = fakeSched();
    expect(applyRealtime(sched, 42, { policy: 'fifo', priority: 80, cpus: [1] })).toBe('SCHED_FIFO priority 80, CPUs {1}');
    expect(sched.calls).toEqual(['affinity 42 1', `sched 42 ${SCHED_FIFO} 80`]);
    expect(applyRealtime(fakeSched(), 7, { policy: 'rr', priority: 10 })).toBe('SCHED_RR priority 10, CPUs {0,1}');
    expect(fakeSched().calls).toEqual([]);
    void SCHED_RR;
  });

  test('a setting that did not hold is an error', () => {
    expect(() => applyRealtime(fakeSched({ priority: 1 }), 42, { policy: 'fifo', priority: 80 })).toThrow(/did not hold: read back SCHED_FIFO priority 1/);
    expect(() => applyRealtime(fakeSched({ cpus: [0, 1] }), 42, { policy: 'fifo', priority: 80, cpus: [1] })).toThrow(/CPUs \{0,1\}/);
  });
});

describe('CPUs', () => {
  test("the kernel's CPU list format", () => {
    expect(parseCpuList('0-1\n')).toEqual([0, 1]);
    expect(parseCpuList('0,2-4,7')).toEqual([0, 2, 3, 4, 7]);
  });

  test('a CPU the device does not have names the field', () => {
    const c = containerSchema.parse({ name: 'rt', image: 'oci:x', realtime: { policy: 'fifo', priority: 80, cpus: [1, 3] }, resources: { cpus: [5] } });
    expect(cpuIssues(c, [0, 1])).toEqual([
      'realtime.cpus: CPU 3 does not exist on this device (it has 0, 1)',
      'resources.cpus: CPU 5 does not exist on this device (it has 0, 1)',
    ]);
  });
});

test("device numbers from rdev (glibc's encoding)", () => {
  expect(deviceNumbers(4 * 256 + 65)).toEqual({ major: 4, minor: 65 });
  // major 259, minor 300: the big-number encoding.
  expect(deviceNumbers(((300 & ~0xff) << 12) | (259 << 8) | (300 & 0xff))).toEqual({ major: 259, minor: 300 });
});
