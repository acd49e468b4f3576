import { describe, expect, it } from 'vitest';
import { describeBlockDevice, usersFromTables } from './block-device.js';

describe('usersFromTables', () => {
  const mounts = [
    'sysfs /sys sysfs rw,nosuid 0 0',
    '/dev/sdb1 /media/usb\\040stick vfat rw 0 0',
    '/dev/disk/by-uuid/1234 /srv ext4 rw 0 0',
    '/dev/sdc1 /other ext4 rw 0 0',
  ].join('\n');
  const swaps = 'Filename\tType\tSize\tUsed\tPriority\n/dev/sdb2 partition 1000 0 -2\n';

  it('finds mounts and swap on the disk or its partitions, through links too', () => {
    expect(usersFromTables(['sdb', 'sdb1', 'sdb2', 'sdb3'], mounts, swaps, new Map([['/dev/disk/by-uuid/1234', 'sdb3']]))).toEqual([
      '/dev/sdb1 mounted at /media/usb stick',
      '/dev/disk/by-uuid/1234 mounted at /srv',
      'swap on /dev/sdb2',
    ]);
  });

  it('is empty for a disk nobody uses', () => {
    expect(usersFromTables(['sdd', 'sdd1'], mounts, swaps)).toEqual([]);
  });
});

describe('describeBlockDevice', () => {
  it('names model, size and whether it is removable', () => {
    expect(describeBlockDevice({ path: '/dev/sdb', name: 'sdb', sizeBytes: 32 * 1024 ** 3, model: 'SanDisk Ultra', removable: true, users: [] })).toBe(
      '/dev/sdb (SanDisk Ultra, 32 GiB, removable)',
    );
  });
});
