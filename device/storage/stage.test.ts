import { describe, expect, it } from 'vitest';
import type { Partition, Storage } from '../contract/config/storage-schema.ts';
import type { BootConfig } from '../contract/boot-config.ts';
import { createLog } from '../base/log.ts';
import { EXT4_DATA_HEAD, FAT32_ESP_HEAD } from '../testing/golden-filesystems.ts';
import { fakeFs, fakeLibc, type FakeFs } from '../testing/fakes.ts';
import type { StorageIo } from './io.ts';
import { storageStage, type StorageContext } from './stage.ts';

const MiB = 1024 * 1024;
const ESP: Partition = { label: 'ESP', filesystem: 'vfat', size: '64M', esp: true, options: [], required: true, fsck: false };
const DATA: Partition = { label: 'DATA', filesystem: 'ext4', size: 'rest', esp: false, mount: '/data', options: [], required: true, fsck: false };

interface FakeDisk {
  name: string;
  sizeBytes: number;
  partitions: { name: string; partName?: string; sizeBytes: number; bytes?: Uint8Array }[];
}

/** sysfs entries for `disks`, as the kernel lays them out under /sys/class/block. */
function sysfs(fs: FakeFs, disks: readonly FakeDisk[]): void {
  for (const disk of disks) {
    fs.files.set(`/sys/class/block/${disk.name}/uevent`, `MAJOR=254\nMINOR=0\nDEVNAME=${disk.name}\nDEVTYPE=disk\n`);
    fs.files.set(`/sys/class/block/${disk.name}/size`, `${disk.sizeBytes / 512}\n`);
    disk.partitions.forEach((p, i) => {
      const name = p.name;
      const partName = p.partName === undefined ? '' : `PARTNAME=${p.partName}\n`;
      fs.files.set(`/sys/class/block/${name}/uevent`, `MAJOR=254\nMINOR=${i + 1}\nDEVNAME=${name}\nDEVTYPE=partition\nPARTN=${i + 1}\n${partName}`);
      fs.files.set(`/sys/class/block/${name}/size`, `${p.sizeBytes / 512}\n`);
      fs.files.set(`/sys/class/block/${disk.name}/${name}/partition`, `${i + 1}\n`);
    });
  }
}

function setup(
  storage: Storage | undefined,
  disks: FakeDisk[],
  options: { debug?: boolean; mountFailures?: Record<string, string>; fsck?: { path: string; code: number; output?: string } } = {},
) {
  const fs = fakeFs({ '/proc/uptime': '5.00 1.00\n' });
  const libc = fakeLibc(options.mountFailures ?? {});
  let console = '';
  let clock = 0;
  const onSleep: ((clock: number) => void)[] = [];
  const contents = new Map<string, Uint8Array>();
  const plug = (more: readonly FakeDisk[]) => {
    sysfs(fs, more);
    for (const disk of more) for (const p of disk.partitions) if (p.bytes !== undefined) contents.set(`/dev/${p.name}`, p.bytes);
  };
  plug(disks);
  const shells: string[] = [];
  const programs: string[] = [];
  const io: StorageIo = {
    readAt(device, offset, length) {
      const bytes = contents.get(device) ?? new Uint8Array(0);
      const out = new Uint8Array(length);
      out.set(bytes.subarray(offset, offset + length));
      return out;
    },
    findProgram: (paths) => (options.fsck !== undefined && paths.includes(options.fsck.path) ? options.fsck.path : undefined),
    async runProgram(program, args) {
      programs.push(`${program} ${args.join(' ')}`);
      return { code: options.fsck?.code ?? 0, output: options.fsck?.output ?? '' };
    },
    startConsoleShell: (_log, reason) => void shells.push(reason),
  };
  const config = {
    name: 'gw',
    hostname: 'gw',
    kilnVersion: '0.1.0',
    version: '0.0.0',
    buildId: 'b',
    arch: 'x86_64',
    modules: [],
    debug: options.debug ?? false,
    storage,
  } as BootConfig;
  const ctx: StorageContext = {
    libc,
    fs,
    log: createLog((text) => (console += text)),
    config,
    mounted: [],
    now: () => clock,
    sleep: async (ms) => {
      clock += ms;
      for (const hook of onSleep) hook(clock);
    },
  };
  return { ctx, fs, libc, io, shells, programs, onSleep, plug, console: () => console, clock: () => clock };
}

const gatewayDisk = (data: Uint8Array | undefined = EXT4_DATA_HEAD): FakeDisk => ({
  name: 'vda',
  sizeBytes: 1024 * MiB,
  partitions: [
    { name: 'vda1', partName: 'ESP', sizeBytes: 64 * MiB, bytes: FAT32_ESP_HEAD },
    { name: 'vda2', partName: 'DATA', sizeBytes: 958 * MiB, bytes: data },
  ],
});

describe('storageStage', () => {
  it('does nothing without a storage section', async () => {
    const { ctx, libc, io } = setup(undefined, [gatewayDisk()]);
    expect(await storageStage(ctx, io)).toBe('no partitions configured');
    expect(libc.calls).toEqual([]);
  });

  it('finds DATA by label and mounts it, saying what was mounted from where', async () => {
    const { ctx, libc, io, fs, console } = setup({ waitSeconds: 10, partitions: [ESP, DATA] }, [gatewayDisk()]);
    expect(await storageStage(ctx, io)).toBe('ESP on /dev/vda1 (not mounted); DATA → /data');
    expect(libc.calls).toEqual(['mount /dev/vda2 /data ext4 0x0 -']);
    expect(fs.dirs).toContain('/data');
    expect(ctx.mounted).toEqual(['/data']);
    expect(console()).toBe('kiln: DATA (ext4) /dev/vda2 → /data\n');
  });

  it('passes flags and filesystem options to mount(2), and mounts parents before children', async () => {
    const esp = { ...ESP, mount: '/data/boot', options: ['ro', 'umask=0077'] };
    const data = { ...DATA, options: ['noexec', 'nodev', 'errors=remount-ro', 'noatime'] };
    const { ctx, libc, io, console } = setup({ waitSeconds: 10, partitions: [esp, data] }, [gatewayDisk()]);
    await storageStage(ctx, io);
    expect(libc.calls).toEqual(['mount /dev/vda2 /data ext4 0x40c errors=remount-ro', 'mount /dev/vda1 /data/boot vfat 0x1 umask=0077']);
    expect(console()).toContain('kiln: DATA (ext4) /dev/vda2 → /data (noexec,nodev,errors=remount-ro,noatime)\n');
  });

  it('matches vfat labels regardless of case, ext4 labels exactly', async () => {
    const { ctx, libc, io } = setup(
      {
        waitSeconds: 1,
        partitions: [
          { ...ESP, label: 'esp', mount: '/boot' },
          { ...DATA, label: 'data', required: false },
        ],
      },
      [gatewayDisk()],
    );
    expect(await storageStage(ctx, io)).toBe('esp → /boot');
    expect(libc.calls).toEqual(['mount /dev/vda1 /boot vfat 0x0 -']);
  });

  it('waits for a disk that appears late, within waitSeconds', async () => {
    const { ctx, io, onSleep, plug, clock } = setup({ waitSeconds: 10, partitions: [ESP, DATA] }, []);
    onSleep.push((now) => {
      if (now === 2500) plug([gatewayDisk()]);
    });
    expect(await storageStage(ctx, io)).toBe('ESP on /dev/vda1 (not mounted); DATA → /data');
    expect(clock()).toBe(2500);
  });

  it('a missing required partition: waits waitSeconds, says what it expected and found, boots on degraded', async () => {
    const espOnly: FakeDisk = { name: 'vda', sizeBytes: 66 * MiB, partitions: [{ name: 'vda1', sizeBytes: 64 * MiB, bytes: FAT32_ESP_HEAD }] };
    const { ctx, libc, io, shells, console, clock } = setup({ waitSeconds: 3, partitions: [ESP, DATA] }, [espOnly]);
    expect(await storageStage(ctx, io)).toBe('degraded (1 required partition unavailable); ESP on /dev/vda1 (not mounted)');
    expect(clock()).toBe(3000);
    expect(libc.calls).toEqual([]);
    expect(console()).toBe(
      'kiln: degraded: required partition DATA (ext4 → /data) not found after 3.0 s. ' +
        'Found: /dev/vda (66 MiB, partition table); ESP (FAT32) /dev/vda1\n' +
        'kiln: degraded: the device boots on without it; with debug: true in the config it would get a console shell\n',
    );
    expect(shells).toEqual([]);
  });

  it('with debug: true a degraded boot gets the console shell', async () => {
    const { ctx, io, shells } = setup({ waitSeconds: 0, partitions: [ESP, DATA] }, [], { debug: true });
    expect(await storageStage(ctx, io)).toBe('degraded (2 required partitions unavailable)');
    expect(shells).toEqual(['the boot is degraded']);
  });

  it('no block devices at all: names the likely cause', async () => {
    const { ctx, io, console } = setup({ waitSeconds: 0, partitions: [DATA] }, []);
    await storageStage(ctx, io);
    expect(console()).toContain('Found: no block devices at all (is the disk driver, e.g. virtio_blk, nvme or ahci, loaded?)');
  });

  it('an optional partition that is missing is a warning, and is waited for only until the devices settle', async () => {
    const { ctx, io, console, clock } = setup({ waitSeconds: 30, partitions: [ESP, DATA, { ...DATA, label: 'LOGS', mount: '/data/log', required: false }] }, [
      gatewayDisk(),
    ]);
    expect(await storageStage(ctx, io)).toBe('ESP on /dev/vda1 (not mounted); DATA → /data');
    expect(console()).toContain('kiln: optional partition LOGS (ext4 → /data/log) not found\n');
    expect(console()).not.toContain('degraded');
    expect(clock()).toBe(1000);
  });

  it('a mount that fails: degraded, with the errno', async () => {
    const { ctx, io, console } = setup({ waitSeconds: 1, partitions: [ESP, DATA] }, [gatewayDisk()], {
      mountFailures: { 'mount /dev/vda2 /data ext4 0x0 -': 'EINVAL' },
    });
    expect(await storageStage(ctx, io)).toMatch(/^degraded/);
    expect(ctx.mounted).toEqual([]);
    expect(console()).toContain(
      'kiln: degraded: required partition DATA (ext4 → /data) on /dev/vda2 could not be mounted at /data: mount(/data): Invalid argument (EINVAL). Found:',
    );
  });

  it('a corrupt superblock is not mounted, and the message shows the damage', async () => {
    const corrupt = EXT4_DATA_HEAD.slice();
    corrupt[0x478] ^= 0x20;
    const { ctx, libc, io, console } = setup({ waitSeconds: 0, partitions: [ESP, DATA] }, [gatewayDisk(corrupt)]);
    await storageStage(ctx, io);
    expect(libc.calls).toEqual([]);
    expect(console()).toContain(
      '/dev/vda2: corrupt ext4 (Cannot decode ext4 superblock at 0x7fc: checksum 0x36409f08 does not match its contents (0xd582389d))',
    );
  });

  it('a label on the wrong filesystem is named as such', async () => {
    const { ctx, io, console } = setup({ waitSeconds: 0, partitions: [{ ...DATA, label: 'ESP' }] }, [gatewayDisk()]);
    await storageStage(ctx, io);
    expect(console()).toContain('required partition ESP (ext4 → /data) found /dev/vda1 labelled ESP, but it is FAT32, not ext4');
  });

  it('two filesystems with one label: the disk with the other configured partitions wins, with a warning', async () => {
    const stick: FakeDisk = { name: 'sda', sizeBytes: 8 * MiB, partitions: [{ name: 'sda1', sizeBytes: 8 * MiB, bytes: EXT4_DATA_HEAD }] };
    const { ctx, libc, io, console } = setup({ waitSeconds: 0, partitions: [ESP, DATA] }, [stick, gatewayDisk()]);
    await storageStage(ctx, io);
    expect(libc.calls).toEqual(['mount /dev/vda2 /data ext4 0x0 -']);
    expect(console()).toContain('kiln: DATA: label DATA is on /dev/sda1 and /dev/vda2; using /dev/vda2\n');
  });

  describe('fsck: true', () => {
    const checked = { waitSeconds: 0, partitions: [ESP, { ...DATA, fsck: true }] };

    it('says so and mounts unchecked when the image has no e2fsck', async () => {
      const { ctx, libc, io, console } = setup(checked, [gatewayDisk()]);
      await storageStage(ctx, io);
      expect(console()).toContain('kiln: DATA: fsck: true, but this image has no e2fsck (looked in /usr/sbin/e2fsck, /sbin/e2fsck); mounting unchecked\n');
      expect(libc.calls).toEqual(['mount /dev/vda2 /data ext4 0x0 -']);
    });

    it('runs e2fsck -p first and mounts after corrected errors', async () => {
      const { ctx, libc, io, programs, console } = setup(checked, [gatewayDisk()], { fsck: { path: '/usr/sbin/e2fsck', code: 1 } });
      await storageStage(ctx, io);
      expect(programs).toEqual(['/usr/sbin/e2fsck -p /dev/vda2']);
      expect(console()).toContain('kiln: DATA (ext4) /dev/vda2: e2fsck: errors corrected (exit 1)\n');
      expect(libc.calls).toEqual(['mount /dev/vda2 /data ext4 0x0 -']);
    });

    it('says what e2fsck repaired, without its summary line, at most four lines', async () => {
      const output = [
        'DATA was not cleanly unmounted, check forced.',
        'DATA: Inode 12 ref count is 3, should be 1.  FIXED.',
        'DATA: 12/16384 files (0.0% non-contiguous), 9514/65536 blocks',
        '',
      ].join('\n');
      const one = setup(checked, [gatewayDisk()], { fsck: { path: '/usr/sbin/e2fsck', code: 1, output } });
      await storageStage(one.ctx, one.io);
      expect(one.console()).toContain(
        'kiln: DATA (ext4) /dev/vda2: e2fsck: errors corrected (exit 1): DATA was not cleanly unmounted, check forced; DATA: Inode 12 ref count is 3, should be 1. FIXED\n',
      );
      const many = Array.from({ length: 7 }, (_, i) => `DATA: problem ${i}. FIXED.`).join('\n') + '\nDATA: 12/16384 files\n';
      const two = setup(checked, [gatewayDisk()], { fsck: { path: '/usr/sbin/e2fsck', code: 1, output: many } });
      await storageStage(two.ctx, two.io);
      expect(two.console()).toContain(
        'e2fsck: errors corrected (exit 1): DATA: problem 0. FIXED; DATA: problem 1. FIXED; DATA: problem 2. FIXED; DATA: problem 3. FIXED; … 3 more\n',
      );
    });

    it('says a clean filesystem is clean', async () => {
      const { ctx, io, console } = setup(checked, [gatewayDisk()], {
        fsck: { path: '/usr/sbin/e2fsck', code: 0, output: 'DATA: clean, 12/16384 files, 9514/65536 blocks\n' },
      });
      await storageStage(ctx, io);
      expect(console()).toContain('kiln: DATA (ext4) /dev/vda2: e2fsck: clean\n');
    });

    it('does not mount what e2fsck could not repair', async () => {
      const { ctx, libc, io, console } = setup(checked, [gatewayDisk()], {
        fsck: { path: '/sbin/e2fsck', code: 4, output: 'DATA: UNEXPECTED INCONSISTENCY; RUN fsck MANUALLY.\n' },
      });
      await storageStage(ctx, io);
      expect(libc.calls).toEqual([]);
      expect(console()).toContain(
        'degraded: required partition DATA (ext4 → /data) on /dev/vda2: e2fsck left errors uncorrected (exit 4): DATA: UNEXPECTED INCONSISTENCY; RUN fsck MANUALLY.',
      );
    });
  });
});
