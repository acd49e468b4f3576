/**
 * Debian programs the device runs, shipped only when the config needs them: each is a Debian package, the
 * binaries kiln takes from it, and the Debian packages that provide the shared libraries those binaries need.
 * `apt-get download` does not follow Depends, so every library package is an input of its own, pinned in
 * kiln.lock like the rest ("<arch>/<package>"); the ELF closure (src/rootfs/elf-closure.ts) then picks exactly
 * the library files the binaries' DT_NEEDED name, and a soname none of the listed packages provides stops the
 * build. The lists were read from bookworm's packages with readelf -d (amd64 and arm64 alike).
 */
import type { Config } from '../config/schema.js';

export interface DebianTool {
  /** The role of the tool's own package in kiln.lock ("<arch>/<role>"). */
  role: string;
  /** Debian package holding the binaries. */
  package: string;
  /**
   * Binaries shipped: their path in the package (bookworm's e2fsprogs and dosfstools still put them in /sbin)
   * and on the device (merged /usr: where device/storage/fsck.ts looks first).
   */
  binaries: readonly { source: string; target: string }[];
  /**
   * Debian packages providing the binaries' shared libraries, their libraries' libraries included (libc6 too:
   * the closure searches only these, so the table says in full where every soname comes from).
   */
  libraryPackages: readonly string[];
  /** Whether `config` needs the tool on the device. */
  needed(config: Config): boolean;
}

/** Whether some partition with `filesystem` asks to be checked before it is mounted. */
export function needsFsck(config: Config, filesystem: 'ext4' | 'vfat'): boolean {
  return (config.storage?.partitions ?? []).some((p) => p.fsck && p.filesystem === filesystem);
}

/** crun runs the config's containers (device/containers). */
export function needsCrun(config: Config): boolean {
  return config.containers.length > 0;
}

/**
 * Debian's efibootmgr, on a development image (`debug: true`) of an updatable device (`update`): a second reader of
 * the boot entries the update stage writes (device/update/boot-entries.ts), for the e2e test and for someone at the
 * console. A release image goes without: the init writes and reads its entries itself, and needs no other tool.
 */
export function needsEfibootmgr(config: Config): boolean {
  return config.update !== undefined && config.debug;
}

export const DEBIAN_TOOLS = [
  {
    role: 'e2fsck',
    package: 'e2fsprogs',
    binaries: [{ source: 'sbin/e2fsck', target: '/usr/sbin/e2fsck' }],
    // libext2fs2 holds libe2p.so.2 too (bookworm has no separate libe2p2).
    libraryPackages: ['libext2fs2', 'libcom-err2', 'libblkid1', 'libuuid1', 'libc6'],
    needed: (config) => needsFsck(config, 'ext4'),
  },
  {
    role: 'fsck.fat',
    package: 'dosfstools',
    binaries: [{ source: 'sbin/fsck.fat', target: '/usr/sbin/fsck.fat' }],
    libraryPackages: ['libc6'],
    needed: (config) => needsFsck(config, 'vfat'),
  },
  {
    role: 'crun',
    package: 'crun',
    binaries: [{ source: 'usr/bin/crun', target: '/usr/bin/crun' }],
    // libsystemd0 brings libgcrypt20 (and its libgpg-error0) and three compressors.
    libraryPackages: ['libyajl2', 'libseccomp2', 'libcap2', 'libsystemd0', 'libgcrypt20', 'libgpg-error0', 'liblzma5', 'libzstd1', 'liblz4-1', 'libc6'],
    needed: needsCrun,
  },
  {
    role: 'efibootmgr',
    package: 'efibootmgr',
    // bookworm puts it in /bin (merged /usr: /usr/bin). efibootdump, the package's other program, stays out: it
    // alone needs libpopt0.
    binaries: [{ source: 'bin/efibootmgr', target: '/usr/bin/efibootmgr' }],
    // libefiboot1 itself needs libefivar1; libefivar1 only libc6 (libdl).
    libraryPackages: ['libefiboot1', 'libefivar1', 'libc6'],
    needed: needsEfibootmgr,
  },
] as const satisfies readonly DebianTool[];

export type Tool = (typeof DEBIAN_TOOLS)[number];
/** Roles of the tools' own packages and of their library packages in kiln.lock. */
export type ToolRole = Tool['role'] | Tool['libraryPackages'][number];

/** The tools `config` needs, in table order. */
export function toolsFor(config: Config): Tool[] {
  return DEBIAN_TOOLS.filter((t) => t.needed(config));
}
