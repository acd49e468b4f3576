/**
 * Which block device holds each configured partition, by filesystem LABEL (never by device name, so one image
 * works on /dev/sda, /dev/vda and /dev/nvme0n1). Pure: decisions and the words that explain them.
 */
import type { Partition } from '../contract/config/storage-schema.ts';
import { formatBytes, type BlockDevice } from './block-devices.ts';
import type { Probe } from './probe.ts';

export interface Filesystem {
  device: BlockDevice;
  probe: Probe;
}

export interface PartitionMatch {
  partition: Partition;
  /** The filesystem to use; undefined when none fits. */
  found?: Filesystem;
  /** Why nothing fits, or what is doubtful about `found` (a second filesystem with the same label). */
  problem?: string;
}

/** vfat keeps labels upper case (and DOS never cared), so they match without regard to case; ext4 labels are exact. */
export function labelMatches(partition: Partition, probe: Probe): boolean {
  if (probe.label === '') return false;
  return partition.filesystem === 'vfat' ? probe.label.toUpperCase() === partition.label.toUpperCase() : probe.label === partition.label;
}

/**
 * Matches every configured partition to a filesystem in `seen`. Of two filesystems with the same label and type,
 * the one on the disk that holds the most other configured partitions wins (the device's own disk rather than a
 * USB stick made from the same image), and the match says so in `problem`.
 */
export function matchPartitions(partitions: readonly Partition[], seen: readonly Filesystem[]): PartitionMatch[] {
  const candidates = partitions.map((partition) => seen.filter((fs) => fs.probe.filesystem === partition.filesystem && labelMatches(partition, fs.probe)));
  const diskVotes = new Map<string, number>();
  for (const list of candidates) for (const disk of new Set(list.map((fs) => fs.device.disk))) diskVotes.set(disk, (diskVotes.get(disk) ?? 0) + 1);

  return partitions.map((partition, i) => {
    const list = candidates[i];
    if (list.length === 0) {
      const sameLabel = seen.find((fs) => fs.probe.filesystem !== 'unknown' && fs.probe.label.toUpperCase() === partition.label.toUpperCase());
      const problem =
        sameLabel === undefined
          ? 'not found'
          : `found ${sameLabel.device.path} labelled ${sameLabel.probe.label}, but it is ${sameLabel.probe.detail}, not ${partition.filesystem}`;
      return { partition, problem };
    }
    const ranked = [...list].sort((a, b) => (diskVotes.get(b.device.disk) ?? 0) - (diskVotes.get(a.device.disk) ?? 0));
    const found = ranked[0];
    if (ranked.length === 1) return { partition, found };
    return { partition, found, problem: `label ${partition.label} is on ${list.map((fs) => fs.device.path).join(' and ')}; using ${found.device.path}` };
  });
}

/** "ESP (vfat) /dev/vda1" */
export function describeFilesystem(fs: Filesystem): string {
  const label = fs.probe.label === '' ? 'no label' : fs.probe.label;
  return `${label} (${fs.probe.detail}) ${fs.device.path}`;
}

/**
 * What the device has, for a message that says what was expected and what was found instead:
 * "ESP (FAT32) /dev/vda1; /dev/vda (66 MiB, partition table); /dev/vdb: corrupt ext4 (...)".
 */
export function describeSeen(devices: readonly BlockDevice[], seen: readonly Filesystem[]): string {
  if (devices.length === 0) return 'no block devices at all (is the disk driver, e.g. virtio_blk, nvme or ahci, loaded?)';
  return devices
    .map((device) => {
      if (device.hasPartitions) return `${device.path} (${formatBytes(device.sizeBytes)}, partition table)`;
      const fs = seen.find((f) => f.device.name === device.name);
      if (fs?.probe.problem !== undefined) {
        return `${device.path}: ${fs.probe.filesystem === 'unknown' ? 'unreadable' : `corrupt ${fs.probe.detail}`} (${fs.probe.problem})`;
      }
      if (fs === undefined || fs.probe.filesystem === 'unknown') return `${device.path} (${formatBytes(device.sizeBytes)}, no ext4 or FAT filesystem)`;
      return describeFilesystem(fs);
    })
    .join('; ');
}
