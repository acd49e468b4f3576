import { describe, expect, it } from 'vitest';
import { MS_NOATIME, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_RELATIME, MS_SYNCHRONOUS } from '../../sys/libc.ts';
import { describeOptions, mountArguments } from './mount-options.ts';

describe('mountArguments', () => {
  it('maps the generic options to the kernel flag values of linux/mount.h', () => {
    expect(mountArguments(['ro'])).toEqual({ flags: 0x1, data: null });
    expect(mountArguments(['ro', 'nosuid', 'nodev', 'noexec', 'sync', 'noatime'])).toEqual({ flags: 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x400, data: null });
    expect(mountArguments(['relatime']).flags).toBe(0x200000);
    expect([MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_SYNCHRONOUS, MS_NOATIME, MS_RELATIME]).toEqual([1, 2, 4, 8, 16, 1024, 0x200000]);
  });

  it('passes filesystem options on as data, in order, and splits comma lists', () => {
    expect(mountArguments(['noexec', 'errors=remount-ro', 'commit=5,nodev', 'umask=0077'])).toEqual({
      flags: MS_NOEXEC | MS_NODEV,
      data: 'errors=remount-ro,commit=5,umask=0077',
    });
  });

  it('lets a later option undo an earlier one, and ignores defaults', () => {
    expect(mountArguments(['ro', 'noexec', 'rw', 'exec', 'defaults'])).toEqual({ flags: 0, data: null });
    expect(mountArguments([])).toEqual({ flags: 0, data: null });
  });

  it('refuses fstab-only words with what to do instead', () => {
    expect(() => mountArguments(['nofail'])).toThrow(
      '"nofail" is an fstab option for mount(8), not one the kernel takes: use "required: false" for a partition the device may boot without',
    );
    expect(() => mountArguments(['defaults,noauto'])).toThrow('"noauto" is an fstab option');
    expect(() => mountArguments(['x-systemd.automount'])).toThrow(
      '"x-systemd.automount" is an fstab option for mount(8), not one the kernel takes: it is a note for other tools',
    );
  });
});

describe('describeOptions', () => {
  it('prints what was asked for, or defaults', () => {
    expect(describeOptions([])).toBe('defaults');
    expect(describeOptions(['noatime', 'commit=5,nodev'])).toBe('noatime,commit=5,nodev');
  });
});
