import { describe, expect, it } from 'vitest';
import { lazySched, type Sched } from './sched.ts';

describe('lazySched', () => {
  it('binds on the first call, once, and passes every call through', () => {
    const calls: string[] = [];
    let opened = 0;
    const real: Sched = {
      setScheduler: (pid, policy, priority) => void calls.push(`set ${pid} ${policy} ${priority}`),
      getScheduler: () => ({ policy: 1, priority: 50 }),
      setAffinity: (pid, cpus) => void calls.push(`affinity ${pid} ${cpus.join(',')}`),
      getAffinity: () => [1],
    };
    const sched = lazySched(() => (opened++, real));
    expect(opened).toBe(0); // a device without real-time containers never binds
    sched.setScheduler(7, 1, 50);
    sched.setAffinity(7, [1, 2]);
    expect(sched.getScheduler(7)).toEqual({ policy: 1, priority: 50 });
    expect(sched.getAffinity(7)).toEqual([1]);
    expect(opened).toBe(1);
    expect(calls).toEqual(['set 7 1 50', 'affinity 7 1,2']);
  });
});
