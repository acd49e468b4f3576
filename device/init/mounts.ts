/**
 * The API filesystems every kiln device gets, as data: mounted in this order at boot, unmounted in reverse at
 * shutdown. The initramfs is the root filesystem and stays mounted.
 */
import type { HostFs } from '../sys/host-fs.ts';
import { MNT_DETACH, MS_NODEV, MS_NOEXEC, MS_NOSUID, SyscallError, type Libc } from '../sys/libc.ts';

export interface MountSpec {
  source: string;
  target: string;
  fstype: string;
  flags: number;
  data: string | null;
  /** Create the mount point first: it lives on a filesystem mounted just before (devtmpfs has no /dev/pts). */
  mkdir?: boolean;
}

export const MOUNTS: readonly MountSpec[] = [
  { source: 'proc', target: '/proc', fstype: 'proc', flags: MS_NOSUID | MS_NODEV | MS_NOEXEC, data: null },
  { source: 'sysfs', target: '/sys', fstype: 'sysfs', flags: MS_NOSUID | MS_NODEV | MS_NOEXEC, data: null },
  // devtmpfs: the kernel creates device nodes itself, so no udev is needed for /dev/input/event*, /dev/vda, ...
  { source: 'devtmpfs', target: '/dev', fstype: 'devtmpfs', flags: MS_NOSUID, data: 'mode=0755' },
  // gid 5 is "tty" by convention; ptmxmode lets unprivileged processes open /dev/pts/ptmx.
  {
    source: 'devpts',
    target: '/dev/pts',
    fstype: 'devpts',
    flags: MS_NOSUID | MS_NOEXEC,
    data: 'gid=5,mode=0620,ptmxmode=0666',
    mkdir: true,
  },
  { source: 'tmpfs', target: '/run', fstype: 'tmpfs', flags: MS_NOSUID | MS_NODEV, data: 'mode=0755' },
  { source: 'tmpfs', target: '/tmp', fstype: 'tmpfs', flags: MS_NOSUID | MS_NODEV, data: 'mode=1777' },
  // nsdelegate: container runtimes may delegate a subtree to a cgroup namespace safely.
  {
    source: 'cgroup2',
    target: '/sys/fs/cgroup',
    fstype: 'cgroup2',
    flags: MS_NOSUID | MS_NODEV | MS_NOEXEC,
    data: 'nsdelegate',
  },
];

/**
 * Mount `table` in order, appending each target to `mounted` as soon as it is mounted, so a failure part-way
 * still leaves an accurate list for shutdown. Throws the first failure.
 */
export function mountAll(libc: Libc, fs: HostFs, mounted: string[], table: readonly MountSpec[] = MOUNTS): void {
  for (const spec of table) {
    if (spec.mkdir === true) fs.mkdir(spec.target, 0o755);
    libc.mount(spec.source, spec.target, spec.fstype, spec.flags, spec.data);
    mounted.push(spec.target);
  }
}

/**
 * Unmount `mounted` in reverse order. A busy filesystem (the init's own open /dev/console, /dev/kmsg) is detached
 * lazily instead; other failures are reported and skipped, because shutdown must go on. Returns the failures.
 */
export function unmountAll(libc: Libc, mounted: readonly string[]): string[] {
  const failures: string[] = [];
  for (const target of [...mounted].reverse()) {
    try {
      libc.umount2(target, 0);
    } catch (error) {
      if (!(error instanceof SyscallError) || error.code !== 'EBUSY') {
        failures.push(String(error instanceof Error ? error.message : error));
        continue;
      }
      try {
        libc.umount2(target, MNT_DETACH);
      } catch (lazyError) {
        failures.push(String(lazyError instanceof Error ? lazyError.message : lazyError));
      }
    }
  }
  return failures;
}
