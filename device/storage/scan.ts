/**
 * Waiting for the configured partitions: block devices appear as their drivers probe them (USB and some NVMe
 * controllers take seconds). sysfs sends no inotify events for new devices, so /sys/class/block is polled.
 */
import type { Partition } from '../contract/config/storage-schema.ts';
import type { HostFs } from '../sys/host-fs.ts';
import { listBlockDevices, type BlockDevice } from './block-devices.ts';
import { matchPartitions, type Filesystem, type PartitionMatch } from './match.ts';
import { probeFilesystem, type Probe } from './probe.ts';
import { errorMessage } from '../contract/error-message.ts';

export const POLL_MS = 100;
/** With every required partition found, optional ones are waited for only until the device list stops changing. */
export const SETTLE_MS = 1000;

export interface ScanDeps {
  fs: HostFs;
  readAt(device: string, offset: number, length: number): Uint8Array;
  now(): number;
  sleep(ms: number): Promise<void>;
}

export interface ScanResult {
  devices: BlockDevice[];
  /** The probe of every device that can hold a filesystem (not disks with a partition table). */
  seen: Filesystem[];
  matches: PartitionMatch[];
  waitedMs: number;
  /** The wait ended at the deadline with a required partition still missing. */
  timedOut: boolean;
}

/**
 * Lists and probes block devices until every configured partition is found, or every required one is and the
 * list has settled, or `waitMs` has passed. Each device is probed once (by name and size).
 */
export async function scanForPartitions(deps: ScanDeps, partitions: readonly Partition[], waitMs: number): Promise<ScanResult> {
  const started = deps.now();
  const probes = new Map<string, Probe>();
  let lastNames = '';
  let stableSince = started;
  for (;;) {
    const devices = listBlockDevices(deps.fs);
    const seen = devices.filter((d) => !d.hasPartitions).map((device) => ({ device, probe: probeOnce(deps, probes, device) }));
    const matches = matchPartitions(partitions, seen);
    const now = deps.now();
    const names = devices.map((d) => `${d.name}:${d.sizeBytes}`).join(' ');
    if (names !== lastNames) {
      lastNames = names;
      stableSince = now;
    }
    const requiredMissing = matches.some((m) => m.found === undefined && m.partition.required);
    const anyMissing = matches.some((m) => m.found === undefined);
    const waitedMs = now - started;
    const done = !anyMissing || waitedMs >= waitMs || (!requiredMissing && now - stableSince >= SETTLE_MS);
    if (done) return { devices, seen, matches, waitedMs, timedOut: requiredMissing };
    await deps.sleep(POLL_MS);
  }
}

function probeOnce(deps: ScanDeps, probes: Map<string, Probe>, device: BlockDevice): Probe {
  const key = `${device.name}:${device.sizeBytes}`;
  let probe = probes.get(key);
  if (probe === undefined) {
    try {
      probe = probeFilesystem((offset, length) => deps.readAt(device.path, offset, length));
    } catch (error) {
      // Not remembered: media that is not ready yet may read fine on the next round.
      return { filesystem: 'unknown', label: '', uuid: '', detail: 'unreadable', problem: errorMessage(error) };
    }
    probes.set(key, probe);
  }
  return probe;
}
