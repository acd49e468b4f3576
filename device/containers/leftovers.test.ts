import { describe, expect, it } from 'vitest';
import { leftoversOf } from './leftovers.ts';

const MOUNTINFO = [
  '22 1 0:20 / /proc rw,nosuid - proc proc rw',
  '40 30 0:35 / /run/kiln/containers/web/rootfs rw - overlay overlay rw',
  '41 40 0:36 / /run/kiln/containers/web/rootfs/proc rw - proc proc rw',
  '42 30 0:37 / /run/kiln/containers/webapp/rootfs rw - overlay overlay rw',
  '',
].join('\n');

describe('leftoversOf', () => {
  it("names a cgroup that is still there and the mounts under the bundle (not a longer name's)", () => {
    const fs = { readText: () => MOUNTINFO, exists: (p: string) => p === '/sys/fs/cgroup/kiln/web' };
    expect(leftoversOf('web', fs)).toEqual([
      'its cgroup /sys/fs/cgroup/kiln/web is still there',
      '2 mount(s) under /run/kiln/containers/web/ remain (/run/kiln/containers/web/rootfs, /run/kiln/containers/web/rootfs/proc)',
    ]);
  });
  it('nothing left: nothing to say', () => {
    expect(leftoversOf('db', { readText: () => MOUNTINFO, exists: () => false })).toEqual([]);
  });
});
