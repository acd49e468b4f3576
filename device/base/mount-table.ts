/**
 * Which mounted filesystem holds a path, from /proc/self/mounts. The root of a kiln device is the initramfs, in RAM:
 * a file whose nearest mount is `/` does not survive a reboot, which usually means its partition is not mounted.
 */
import type { HostFs } from '../sys/host-fs.ts';

export interface MountEntry {
  source: string;
  target: string;
  fstype: string;
  options: string[];
}

/** /proc/mounts escapes space, tab, newline and backslash as octal (`\040`). */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

export function parseMounts(text: string): MountEntry[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [source = '', target = '', fstype = '', options = ''] = line.split(' ');
      return { source: unescape(source), target: unescape(target), fstype, options: options.split(',') };
    });
}

/** The mount holding `path`: the last-mounted entry with the longest target that contains it. */
export function mountOf(entries: readonly MountEntry[], path: string): MountEntry | undefined {
  let best: MountEntry | undefined;
  for (const entry of entries) {
    const contains = entry.target === '/' || path === entry.target || path.startsWith(`${entry.target}/`);
    if (contains && (best === undefined || entry.target.length >= best.target.length)) best = entry;
  }
  return best;
}

export interface Placement {
  /** False when the path is in the initramfs (RAM): nothing mounted at any folder above it. */
  persistent: boolean;
  readOnly: boolean;
  mount?: MountEntry;
}

/** Where `path` lives now; when /proc/self/mounts is unreadable, assumes a writable partition and lets writes tell. */
export function placementOf(fs: HostFs, path: string): Placement {
  let entries: MountEntry[];
  try {
    entries = parseMounts(fs.readText('/proc/self/mounts'));
  } catch {
    return { persistent: true, readOnly: false };
  }
  const mount = mountOf(entries, path);
  if (mount === undefined) return { persistent: true, readOnly: false };
  return { persistent: mount.target !== '/', readOnly: mount.options.includes('ro'), mount };
}

/**
 * Why `path` is not on a partition, for the log: names the configured partition expected above it, if any.
 * `partitions` are the primary config's storage partitions.
 */
export function notMountedReason(path: string, partitions: readonly { label: string; mount?: string }[]): string {
  const expected = partitions
    .filter((p) => p.mount !== undefined && (path === p.mount || path.startsWith(`${p.mount}/`)))
    .sort((a, b) => b.mount!.length - a.mount!.length)[0];
  return expected === undefined ? 'it is in RAM: no partition is mounted above it' : `partition ${expected.label} is not mounted at ${expected.mount}`;
}
