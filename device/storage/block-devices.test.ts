import { describe, expect, it } from 'vitest';
import { fakeFs } from '../testing/fakes.ts';
import { formatBytes, listBlockDevices, parseUevent } from './block-devices.ts';

const disk = (name: string, sectors: number, devname = name) => ({
  [`/sys/class/block/${name}/uevent`]: `MAJOR=259\nMINOR=0\nDEVNAME=${devname}\nDEVTYPE=disk\nDISKSEQ=9\n`,
  [`/sys/class/block/${name}/size`]: `${sectors}\n`,
});
const partition = (diskName: string, name: string, n: number, sectors: number, partName?: string) => ({
  [`/sys/class/block/${name}/uevent`]: `MAJOR=259\nMINOR=${n}\nDEVNAME=${name}\nDEVTYPE=partition\nPARTN=${n}\n${partName === undefined ? '' : `PARTNAME=${partName}\n`}`,
  [`/sys/class/block/${name}/size`]: `${sectors}\n`,
  [`/sys/class/block/${diskName}/${name}/partition`]: `${n}\n`,
});

describe('listBlockDevices', () => {
  it('lists disks and partitions in natural order, with sizes, GPT names and their disk', () => {
    const fs = fakeFs({
      ...disk('nvme0n1', 2 * 1024 * 1024),
      ...partition('nvme0n1', 'nvme0n1p10', 10, 2048),
      ...partition('nvme0n1', 'nvme0n1p2', 2, 2048, 'DATA'),
      ...partition('nvme0n1', 'nvme0n1p1', 1, 131072, 'EFI System Partition'),
      ...disk('sda', 16384),
    });
    expect(listBlockDevices(fs)).toEqual([
      { name: 'nvme0n1', path: '/dev/nvme0n1', sizeBytes: 1024 ** 3, disk: 'nvme0n1', hasPartitions: true },
      {
        name: 'nvme0n1p1',
        path: '/dev/nvme0n1p1',
        sizeBytes: 64 * 1024 ** 2,
        disk: 'nvme0n1',
        partition: 1,
        partName: 'EFI System Partition',
        hasPartitions: false,
      },
      { name: 'nvme0n1p2', path: '/dev/nvme0n1p2', sizeBytes: 1024 ** 2, disk: 'nvme0n1', partition: 2, partName: 'DATA', hasPartitions: false },
      { name: 'nvme0n1p10', path: '/dev/nvme0n1p10', sizeBytes: 1024 ** 2, disk: 'nvme0n1', partition: 10, hasPartitions: false },
      { name: 'sda', path: '/dev/sda', sizeBytes: 8 * 1024 ** 2, disk: 'sda', hasPartitions: false },
    ]);
  });

  it('skips loop and RAM disks, empty drives, and entries that vanish while being read', () => {
    const fs = fakeFs({ ...disk('loop0', 1000), ...disk('ram0', 1000), ...disk('sr0', 0), ...disk('vda', 2048), '/sys/class/block/sdb/size': '100\n' });
    expect(listBlockDevices(fs).map((d) => d.name)).toEqual(['vda']);
  });

  it('takes the /dev path from DEVNAME', () => {
    expect(listBlockDevices(fakeFs(disk('dm-0', 2048, 'dm-0')))[0].path).toBe('/dev/dm-0');
  });

  it('is empty without /sys/class/block', () => {
    expect(listBlockDevices(fakeFs({}))).toEqual([]);
  });
});

describe('parseUevent and formatBytes', () => {
  it('reads KEY=value lines, values may hold "="', () => {
    expect(parseUevent('DEVNAME=vda2\nPARTNAME=a=b\n\n')).toEqual({ DEVNAME: 'vda2', PARTNAME: 'a=b' });
  });
  it('prints binary sizes', () => {
    expect([formatBytes(512), formatBytes(66 * 1024 ** 2), formatBytes(1.5 * 1024 ** 3)]).toEqual(['512 bytes', '66 MiB', '1.5 GiB']);
  });
});
