/**
 * The block devices the kernel has found, from /sys/class/block: every whole disk and partition with its size
 * and /dev path. The kernel reads the partition tables itself (MSDOS and EFI partitions are built into Debian's
 * kernel), so a GPT partition is simply `vda2`; what is *on* it is for probe.ts to say.
 */
import type { HostFs } from '../sys/host-fs.ts';

export const SYS_CLASS_BLOCK = '/sys/class/block';
const SECTOR_BYTES = 512;
/** Devices that never hold a configured partition: loop and RAM disks (and compressed swap). */
const IGNORED = /^(loop|ram|zram)\d/;

export interface BlockDevice {
  /** Kernel name: vda, vda2, nvme0n1p1, sda1. */
  name: string;
  /** Device node, e.g. /dev/vda2 (devtmpfs creates it). */
  path: string;
  sizeBytes: number;
  /** The whole disk's name; the device's own for a disk. */
  disk: string;
  /** Partition number on its disk; undefined for a whole disk. */
  partition?: number;
  /** The GPT partition name, when the kernel reports one (PARTNAME). */
  partName?: string;
  /** A whole disk with partitions: its first bytes are a partition table, not a filesystem. */
  hasPartitions: boolean;
}

/** `KEY=value` lines of a sysfs uevent file. */
export function parseUevent(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

/**
 * Every block device with a size, disks before their partitions, in natural order (vda, vda1, vda2, vdb).
 * Entries that vanish while being read (a device unplugged) are skipped.
 */
export function listBlockDevices(fs: HostFs): BlockDevice[] {
  let names: string[];
  try {
    names = fs.list(SYS_CLASS_BLOCK).filter((name) => !IGNORED.test(name));
  } catch {
    return [];
  }
  const known = new Set(names);
  const devices: BlockDevice[] = [];
  const partitionsOf = new Map<string, string[]>();
  for (const name of names) {
    const dir = `${SYS_CLASS_BLOCK}/${name}`;
    let uevent: Record<string, string>;
    let sectors: number;
    try {
      uevent = parseUevent(fs.readText(`${dir}/uevent`));
      sectors = Number(fs.readText(`${dir}/size`).trim());
    } catch {
      continue;
    }
    if (!Number.isSafeInteger(sectors) || sectors <= 0) continue;
    const isPartition = uevent.DEVTYPE === 'partition';
    const device: BlockDevice = {
      name,
      path: `/dev/${uevent.DEVNAME ?? name}`,
      sizeBytes: sectors * SECTOR_BYTES,
      disk: name,
      hasPartitions: false,
    };
    if (isPartition) {
      const number = Number(uevent.PARTN);
      if (Number.isSafeInteger(number)) device.partition = number;
      if (uevent.PARTNAME !== undefined && uevent.PARTNAME !== '') device.partName = uevent.PARTNAME;
    } else {
      // A disk's sysfs folder holds one subfolder per partition, named like the partition's own entry.
      let children: string[] = [];
      try {
        children = fs.list(dir).filter((child) => known.has(child) && child !== name);
      } catch {
        // Gone already.
      }
      partitionsOf.set(name, children);
    }
    devices.push(device);
  }
  for (const [disk, children] of partitionsOf) {
    for (const device of devices) {
      if (children.includes(device.name)) device.disk = disk;
      if (device.name === disk) device.hasPartitions = children.some((child) => devices.some((d) => d.name === child));
    }
  }
  return devices.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
}

/** "66 MiB", "1.9 GiB": sizes for the log. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}
