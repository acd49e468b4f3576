/**
 * A real disk for `kiln disk --device`: what it is (size and model from /sys/block, so the confirmation names
 * the right disk) and whether anything uses it (mounted, swap, or held by LVM/RAID/dm). Writing a disk that is
 * in use would corrupt both it and whatever uses it, so that is refused outright.
 */
import { readFile, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { KilnError } from '../util/errors.js';
import { formatSize } from './size.js';

export interface BlockDeviceInfo {
  /** Canonical path, e.g. /dev/sdb (a /dev/disk/by-id/... link resolved). */
  path: string;
  name: string;
  sizeBytes: number;
  /** "SanDisk Ultra", "loop device of /tmp/x.img", or "unknown model". */
  model: string;
  removable: boolean;
  /** Who uses the disk or one of its partitions: "/dev/sdb1 mounted at /media/usb", "swap on /dev/sdb2", ... */
  users: string[];
}

export interface SystemFiles {
  /** @default '/sys' */
  sysRoot?: string;
  /** @default '/proc/self/mounts' */
  mounts?: string;
  /** @default '/proc/swaps' */
  swaps?: string;
}

/** Looks `device` up; throws KilnError when it is missing, not a block device, a partition, or read-only. */
export async function inspectBlockDevice(device: string, files: SystemFiles = {}): Promise<BlockDeviceInfo> {
  const sysRoot = files.sysRoot ?? '/sys';
  const fail = (message: string, hint?: string) => new KilnError('DISK_DEVICE', `--device ${device}: ${message}`, { hint });
  const canonical = await realpath(device).catch(() => {
    throw fail('no such device', 'List disks with: lsblk -d -o NAME,SIZE,MODEL,TRAN');
  });
  const st = await stat(canonical);
  if (!st.isBlockDevice()) throw fail('not a block device', 'To write an image file, use --out.');
  const name = path.basename(canonical);
  const sys = path.join(sysRoot, 'class', 'block', name);
  const text = (rel: string) =>
    readFile(path.join(sys, rel), 'utf8').then(
      (t) => t.trim(),
      () => undefined,
    );
  if ((await text('partition')) !== undefined) {
    const parent = path.basename(path.dirname(await realpath(sys)));
    throw fail(`is a partition; kiln writes a whole disk (its partition table too)`, `Use the disk itself: --device /dev/${parent}`);
  }
  if ((await text('ro')) === '1') throw fail('is read-only (a write-protect switch?)');
  const sectors = Number(await text('size'));
  if (!Number.isSafeInteger(sectors) || sectors <= 0) throw fail('has no medium (size 0)');

  const backing = await text('loop/backing_file');
  const vendorModel = [await text('device/vendor'), await text('device/model')].filter((s) => s !== undefined && s !== '').join(' ');
  const model = backing !== undefined ? `loop device of ${backing}` : vendorModel || 'unknown model';

  const partitions = (await readdir(sys).catch(() => [] as string[])).filter((entry) => entry.startsWith(name) && entry !== name);
  const names = [name, ...partitions];
  const users: string[] = [];
  for (const n of names) {
    const holders = await readdir(path.join(n === name ? sys : path.join(sys, n), 'holders')).catch(() => [] as string[]);
    for (const holder of holders) users.push(`/dev/${n} is held by ${holder} (LVM, RAID or device mapper)`);
  }
  users.push(
    ...usersFromTables(
      names,
      await readFile(files.mounts ?? '/proc/self/mounts', 'utf8').catch(() => ''),
      await readFile(files.swaps ?? '/proc/swaps', 'utf8').catch(() => ''),
      await canonicalSources(files.mounts),
    ),
  );
  return { path: canonical, name, sizeBytes: sectors * 512, model, removable: (await text('removable')) === '1', users };
}

/** Mount sources that are links (/dev/disk/by-uuid/...) resolved to their device names. */
async function canonicalSources(mountsFile: string | undefined): Promise<Map<string, string>> {
  const text = await readFile(mountsFile ?? '/proc/self/mounts', 'utf8').catch(() => '');
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const source = line.split(' ')[0];
    if (source?.startsWith('/dev/')) out.set(source, path.basename(await realpath(source).catch(() => source)));
  }
  return out;
}

/**
 * Users of the devices `names` (a disk and its partitions) in /proc/self/mounts and /proc/swaps text. Pure.
 * @example usersFromTables(['sdb', 'sdb1'], '/dev/sdb1 /media/usb vfat rw 0 0\n', '') // ['/dev/sdb1 mounted at /media/usb']
 */
export function usersFromTables(names: readonly string[], mounts: string, swaps: string, resolved: ReadonlyMap<string, string> = new Map()): string[] {
  const users: string[] = [];
  const deviceName = (source: string) => resolved.get(source) ?? path.basename(source);
  for (const line of mounts.split('\n')) {
    const [source, target] = line.split(' ');
    if (source?.startsWith('/dev/') && names.includes(deviceName(source))) users.push(`${source} mounted at ${target?.replace(/\\040/g, ' ')}`);
  }
  for (const line of swaps.split('\n').slice(1)) {
    const source = line.split(/\s+/)[0];
    if (source?.startsWith('/dev/') && names.includes(deviceName(source))) users.push(`swap on ${source}`);
  }
  return users;
}

/** "/dev/sdb (SanDisk Ultra, 29.8 GiB, removable)" */
export function describeBlockDevice(info: BlockDeviceInfo): string {
  return `${info.path} (${info.model}, ${formatSize(info.sizeBytes)}${info.removable ? ', removable' : ''})`;
}
