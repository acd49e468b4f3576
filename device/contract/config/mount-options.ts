/**
 * Mount options as a config writes them (`[ro, noexec, "errors=remount-ro"]`) → mount(2)'s flags and data
 * string, the way mount(8) splits them: the generic options are MS_* flags, the rest goes to the filesystem.
 * Shared by the host (the config schema rejects bad options) and the device (the storage stage mounts).
 */
import {
  MS_DIRSYNC,
  MS_LAZYTIME,
  MS_NOATIME,
  MS_NODEV,
  MS_NODIRATIME,
  MS_NOEXEC,
  MS_NOSUID,
  MS_NOSYMFOLLOW,
  MS_RDONLY,
  MS_RELATIME,
  MS_SILENT,
  MS_STRICTATIME,
  MS_SYNCHRONOUS,
} from '../../formats/mount-flags.ts';

export interface MountArguments {
  flags: number;
  /** The filesystem-specific options, comma-separated; null when there are none. */
  data: string | null;
}

/** Generic options: the flag each one sets (`true`) or clears (`false`). */
const FLAG_OPTIONS: Readonly<Record<string, readonly [number, boolean]>> = {
  ro: [MS_RDONLY, true],
  rw: [MS_RDONLY, false],
  nosuid: [MS_NOSUID, true],
  suid: [MS_NOSUID, false],
  nodev: [MS_NODEV, true],
  dev: [MS_NODEV, false],
  noexec: [MS_NOEXEC, true],
  exec: [MS_NOEXEC, false],
  sync: [MS_SYNCHRONOUS, true],
  async: [MS_SYNCHRONOUS, false],
  dirsync: [MS_DIRSYNC, true],
  noatime: [MS_NOATIME, true],
  atime: [MS_NOATIME, false],
  nodiratime: [MS_NODIRATIME, true],
  diratime: [MS_NODIRATIME, false],
  relatime: [MS_RELATIME, true],
  norelatime: [MS_RELATIME, false],
  strictatime: [MS_STRICTATIME, true],
  nostrictatime: [MS_STRICTATIME, false],
  lazytime: [MS_LAZYTIME, true],
  nolazytime: [MS_LAZYTIME, false],
  nosymfollow: [MS_NOSYMFOLLOW, true],
  symfollow: [MS_NOSYMFOLLOW, false],
  silent: [MS_SILENT, true],
  loud: [MS_SILENT, false],
};

/** fstab words that mean something to mount(8) or systemd, never to the kernel, which would refuse them. */
const FSTAB_ONLY: Readonly<Record<string, string>> = {
  nofail: 'use "required: false" for a partition the device may boot without',
  auto: 'every configured partition is mounted at boot',
  noauto: 'leave "mount" out for a partition that should not be mounted',
  user: 'there are no user mounts on a kiln device',
  nouser: 'there are no user mounts on a kiln device',
  users: 'there are no user mounts on a kiln device',
  owner: 'there are no user mounts on a kiln device',
  group: 'there are no user mounts on a kiln device',
  _netdev: 'kiln mounts local partitions only',
};

/**
 * mount(2) arguments for `options`. Each entry may itself hold several comma-separated options; later ones
 * win (`ro` then `rw` is read-write). Throws `RangeError` naming an option that only fstab understands.
 * @example mountArguments(['ro', 'noexec', 'errors=remount-ro']) // { flags: MS_RDONLY | MS_NOEXEC, data: 'errors=remount-ro' }
 */
export function mountArguments(options: readonly string[]): MountArguments {
  let flags = 0;
  const data: string[] = [];
  for (const option of options.flatMap((o) => o.split(',')).filter((o) => o !== '')) {
    if (option === 'defaults') continue;
    const flag = FLAG_OPTIONS[option];
    if (flag !== undefined) {
      flags = flag[1] ? flags | flag[0] : flags & ~flag[0];
      continue;
    }
    const fstab = FSTAB_ONLY[option] ?? (option.startsWith('x-') || option.startsWith('comment=') ? 'it is a note for other tools' : undefined);
    if (fstab !== undefined) throw new RangeError(`"${option}" is an fstab option for mount(8), not one the kernel takes: ${fstab}`);
    data.push(option);
  }
  return { flags: flags >>> 0, data: data.length === 0 ? null : data.join(',') };
}

/** The options as mount(8) would print them: for the log line. */
export function describeOptions(options: readonly string[]): string {
  const words = options.flatMap((o) => o.split(',')).filter((o) => o !== '' && o !== 'defaults');
  return words.length === 0 ? 'defaults' : words.join(',');
}
