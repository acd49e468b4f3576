import { describe, expect, it } from 'vitest';
import { fakeFs, fakeLibc } from '../testing/fakes.ts';
import { MOUNTS, mountAll, unmountAll } from './mounts.ts';

describe('mountAll', () => {
  it('mounts the API filesystems in order, creating /dev/pts on the fresh devtmpfs', () => {
    const libc = fakeLibc();
    const fs = fakeFs();
    const mounted: string[] = [];
    mountAll(libc, fs, mounted);
    expect(libc.calls).toEqual([
      'mount proc /proc proc 0xe -',
      'mount sysfs /sys sysfs 0xe -',
      'mount devtmpfs /dev devtmpfs 0x2 mode=0755',
      'mount devpts /dev/pts devpts 0xa gid=5,mode=0620,ptmxmode=0666',
      'mount tmpfs /run tmpfs 0x6 mode=0755',
      'mount tmpfs /tmp tmpfs 0x6 mode=1777',
      'mount cgroup2 /sys/fs/cgroup cgroup2 0xe nsdelegate',
    ]);
    expect(fs.dirs).toEqual(['/dev/pts']);
    expect(mounted).toEqual(MOUNTS.map((spec) => spec.target));
  });
  it('stops at the first failure and keeps what was mounted', () => {
    const libc = fakeLibc({ 'mount devtmpfs /dev devtmpfs 0x2 mode=0755': 'ENOENT' });
    const mounted: string[] = [];
    expect(() => mountAll(libc, fakeFs(), mounted)).toThrow('mount(/dev): No such file or directory (ENOENT)');
    expect(mounted).toEqual(['/proc', '/sys']);
  });
});

describe('unmountAll', () => {
  it('unmounts in reverse order, lazily when busy, and goes on after a failure', () => {
    const libc = fakeLibc({ 'umount2 /dev 0': 'EBUSY', 'umount2 /run 0': 'EINVAL' });
    const failures = unmountAll(libc, ['/proc', '/dev', '/run', '/tmp']);
    expect(libc.calls).toEqual(['umount2 /tmp 0', 'umount2 /run 0', 'umount2 /dev 0', 'umount2 /dev 2', 'umount2 /proc 0']);
    expect(failures).toEqual(['umount2(/run): Invalid argument (EINVAL)']);
  });
});
