/**
 * The source-root layout (`layout: source`, u-root's Sourcery): the device's root is split in two.
 *   the UKI's initramfs   kernel modules, tools, boot.json, the config's files, the program stubs, and a first stage
 *                         (device/first-stage) as /init, with symbolic links into the stick for everything moved out;
 *   the boot stick (ESP)  /linux_<arch>/bin/node and /linux_<arch>/lib/* — the few native files of one architecture —
 *                         and /src: kiln's init and device JavaScript packages (/src/kiln) and the programs
 *                         (/src/<name>), the same bytes for every architecture, so one stick serves them all.
 * The first stage mounts the stick read-only at SOURCE_MOUNT and starts Node from it: Node's 116 MB are read from the
 * stick on demand instead of being unpacked into RAM, and the UKI keeps only what it takes to find the stick.
 *
 * This module is the pure split: built layer entries in, initramfs entries and stick files out.
 */
import path from 'node:path';
import type { CpioEntry } from '../formats/cpio/index.js';
import type { FatFile } from '../formats/fat/index.js';
import { DEVICE_PREFIX, NODE_PATH } from './layers.js';

/** Where the first stage mounts the stick; the initramfs's links point here. */
export const SOURCE_MOUNT = '/source';
/** The folder of the stick shared by every architecture. */
export const SHARED_DIR = 'src';
/** kiln's own part of the shared folder: the init's sources and the device's JavaScript packages. */
export const KILN_SOURCE_DIR = `${SHARED_DIR}/kiln`;
const PROGRAMS_PREFIX = '/src';

/**
 * The file in an architecture's folder that names the build its tree belongs to. The first stage mounts only a
 * filesystem whose stamp is its own build id: with A/B update slots the same UKI boots from either slot or from the
 * ESP fallback, and two builds may share every other byte of the tree (a config change lives in the UKI).
 */
export function buildStampPath(debArch: string): string {
  return `${archDir(debArch)}/kiln-build`;
}

/** `linux_amd64`, `linux_arm64`: per-architecture folders named as Go and Sourcery name them (Debian's names). */
export function archDir(debArch: string): string {
  return `linux_${debArch}`;
}

export interface SourceRootInput {
  /** The runtime layer's entries: Node, koffi, the device's JavaScript packages, shared libraries. */
  runtime: readonly CpioEntry[];
  /** The kiln layer's entries: /init (replaced), device sources, boot.json, files, programs and their stubs. */
  kiln: readonly CpioEntry[];
  debArch: string;
  /** The first stage for this architecture (device/first-stage, compiled). */
  firstStage: Uint8Array;
  /** Filesystem labels the first stage may find the tree on: the ESP's, and with updates both slots'. */
  labels: readonly string[];
  /** Modules the first stage loads before it looks (those that reach the boot disk). */
  modules: readonly string[];
  /** The build's id: written into the tree (buildStampPath) and demanded by the first stage. */
  buildId: string;
}

export interface SourceRoot {
  /** What stays in the UKI's initramfs. */
  initramfs: CpioEntry[];
  /** What goes on the stick, paths relative to its root. */
  stick: FatFile[];
}

/** Splits built layers into the UKI's part and the stick's part, linking the former to the latter. */
export function splitSourceRoot(input: SourceRootInput): SourceRoot {
  const arch = archDir(input.debArch);
  const stick: FatFile[] = [];
  const initramfs: CpioEntry[] = [];
  const links = new Map<string, string>([
    [NODE_PATH, `${SOURCE_MOUNT}/${arch}/bin/node`],
    [DEVICE_PREFIX, `${SOURCE_MOUNT}/${KILN_SOURCE_DIR}`],
    [PROGRAMS_PREFIX, `${SOURCE_MOUNT}/${SHARED_DIR}`],
  ]);
  const under = (p: string, prefix: string) => p === prefix || p.startsWith(`${prefix}/`);
  for (const e of input.runtime) {
    if (e.type !== 'file') continue; // folders are implied on FAT
    if (e.path === NODE_PATH) stick.push({ path: `${arch}/bin/node`, data: e.data });
    else if (under(e.path, DEVICE_PREFIX)) stick.push({ path: `${KILN_SOURCE_DIR}${e.path.slice(DEVICE_PREFIX.length)}`, data: e.data });
    else {
      // A shared library: one folder per architecture on the stick, a link at the path the loader looks for.
      const name = path.posix.basename(e.path);
      stick.push({ path: `${arch}/lib/${name}`, data: e.data });
      links.set(e.path, `${SOURCE_MOUNT}/${arch}/lib/${name}`);
    }
  }
  for (const e of input.kiln) {
    if (e.path === '/init') continue;
    if (under(e.path, DEVICE_PREFIX)) {
      if (e.type === 'file') stick.push({ path: `${KILN_SOURCE_DIR}${e.path.slice(DEVICE_PREFIX.length)}`, data: e.data });
    } else if (under(e.path, PROGRAMS_PREFIX)) {
      if (e.type === 'file') stick.push({ path: `${SHARED_DIR}${e.path.slice(PROGRAMS_PREFIX.length)}`, data: e.data });
    } else initramfs.push(e);
  }
  const stamp = { path: buildStampPath(input.debArch), content: input.buildId };
  stick.push({ path: stamp.path, data: Buffer.from(stamp.content) });
  const directives = firstStageConfig({ labels: input.labels, modules: input.modules, waitSeconds: 120, stamp });
  initramfs.push(
    { type: 'dir', path: SOURCE_MOUNT, mode: 0o755 },
    { type: 'file', path: '/init', mode: 0o755, data: input.firstStage },
    { type: 'file', path: '/etc/kiln/first-stage', mode: 0o644, data: Buffer.from(directives) },
    ...[...links].map(([from, to]): CpioEntry => ({ type: 'symlink', path: from, target: to })),
  );
  stick.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { initramfs, stick };
}

/**
 * The first stage's directives: load `modules`, find a filesystem with one of `labels` holding `stamp`, mount it,
 * then start the init from it.
 */
export function firstStageConfig(o: {
  labels: readonly string[];
  modules: readonly string[];
  waitSeconds: number;
  stamp?: { path: string; content: string };
}): string {
  return [
    ...o.labels.map((label) => `label ${label}`),
    `mount ${SOURCE_MOUNT} vfat`,
    `wait ${o.waitSeconds}`,
    ...(o.stamp === undefined ? [] : [`stamp ${o.stamp.path} ${o.stamp.content}`]),
    ...o.modules.map((m) => `module ${m}`),
    `exec ${NODE_PATH} ${DEVICE_PREFIX}/device/init/main.ts`,
    '',
  ].join('\n');
}

/**
 * The stick files of several architectures' builds as one tree: each architecture's own folder, and /src once.
 * The shared files must be byte-identical across architectures (they are source); a difference is a kiln bug.
 */
export function mergeSticks(sticks: readonly { arch: string; files: readonly FatFile[] }[]): FatFile[] {
  const byPath = new Map<string, { arch: string; file: FatFile }>();
  for (const s of sticks) {
    for (const f of s.files) {
      const seen = byPath.get(f.path);
      if (seen === undefined) byPath.set(f.path, { arch: s.arch, file: f });
      else if (Buffer.compare(Buffer.from(seen.file.data), Buffer.from(f.data)) !== 0) {
        throw new Error(`the shared ${f.path} differs between the ${seen.arch} and ${s.arch} builds`);
      }
    }
  }
  return [...byPath.values()].map((v) => v.file).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
