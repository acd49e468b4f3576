import { describe, expect, it } from 'vitest';
import { fakeFs } from '../testing/fakes.ts';
import { mountOf, notMountedReason, parseMounts, placementOf } from './mount-table.ts';

const MOUNTS = 'rootfs / rootfs rw 0 0\ntmpfs /run tmpfs rw,nosuid 0 0\n/dev/vda2 /data ext4 rw,relatime 0 0\n/dev/vda3 /data/ro\\040dir ext4 ro 0 0\n';

describe('mount table', () => {
  it('parses /proc/self/mounts, unescaping octal', () => {
    expect(parseMounts(MOUNTS)[3]).toEqual({ source: '/dev/vda3', target: '/data/ro dir', fstype: 'ext4', options: ['ro'] });
  });

  it('finds the mount holding a path: the longest containing target', () => {
    const entries = parseMounts(MOUNTS);
    expect(mountOf(entries, '/data/kiln/secondary.yml')?.target).toBe('/data');
    expect(mountOf(entries, '/data/ro dir/x')?.target).toBe('/data/ro dir');
    expect(mountOf(entries, '/database/x')?.target).toBe('/');
    expect(mountOf(entries, '/run')?.target).toBe('/run');
  });

  it('says whether a path survives a reboot, and whether it is read-only', () => {
    const fs = fakeFs({ '/proc/self/mounts': MOUNTS });
    expect(placementOf(fs, '/data/log')).toMatchObject({ persistent: true, readOnly: false });
    expect(placementOf(fs, '/data/ro dir/log')).toMatchObject({ persistent: true, readOnly: true });
    expect(placementOf(fs, '/srv/log')).toMatchObject({ persistent: false });
    expect(placementOf(fakeFs({}), '/srv/log')).toEqual({ persistent: true, readOnly: false });
  });

  it('names the partition expected above a path that is in RAM', () => {
    const partitions = [{ label: 'ESP' }, { label: 'DATA', mount: '/data' }, { label: 'LOGS', mount: '/data/log' }];
    expect(notMountedReason('/data/log/init.log', partitions)).toBe('partition LOGS is not mounted at /data/log');
    expect(notMountedReason('/data/kiln/secondary.yml', partitions)).toBe('partition DATA is not mounted at /data');
    expect(notMountedReason('/srv/x', partitions)).toBe('it is in RAM: no partition is mounted above it');
  });
});
