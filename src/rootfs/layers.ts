/**
 * The device root as three or four initramfs layers, from the one that changes least to the one that changes on every
 * config edit. The kernel unpacks separately compressed cpio archives laid end to end, so the big layers are
 * compressed once at the release level and reused from the cache; a config change recompresses only `kiln`.
 *   runtime  Node.js (stripped), koffi, and exactly the shared libraries they need
 *   modules  the configured kernel modules with their dependencies and a modules.dep for them
 *   tools    Debian programs the config needs (e2fsck, fsck.fat, crun) with their libraries (tools-layer.ts); often absent
 *   kiln     the init (TypeScript source), boot.json, the config's files, device nodes, base folders
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import path from 'node:path';
import type { CpioEntry } from '../formats/cpio/index.js';
import { stripElf } from '../formats/elf/index.js';
import { sha256 } from '../inputs/cache.js';
import { sharedLibraryClosure } from './elf-closure.js';
import type { ShippedModules } from './kernel-modules.js';
import { readHostTree } from './host-files.js';

/**
 * Part of every cached layer's key: the code that assembles layers. A change to it (or to the library closure)
 * rebuilds cached layers instead of silently reusing what older code made.
 */
export const LAYER_FORMAT = sha256(
  ['./layers.js', './tools-layer.js', './elf-closure.js', './kernel-modules.js', './host-files.js', '../formats/cpio/encode.js', '../formats/elf/strip.js']
    .map((m) => readFileSync(fileURLToPath(new URL(m, import.meta.url).href.replace(/\.js$/, import.meta.url.endsWith('.ts') ? '.ts' : '.js'))))
    .join('\0'),
);

export interface LayerContent {
  entries: CpioEntry[];
  /** What each part of the layer weighs, uncompressed, for the build summary. */
  parts: Record<string, number>;
}

export interface LayerPlan {
  name: 'runtime' | 'modules' | 'tools' | 'kiln';
  /** Hash of everything the layer is made from; equal keys mean byte-identical layers. */
  key: string;
  build(): Promise<LayerContent>;
}

export const DEVICE_PREFIX = '/usr/lib/kiln';
export const NODE_PATH = '/usr/bin/node';

export interface RuntimeSources {
  nodeTree: string;
  koffiTree: string;
  koffiNativeTree: string;
  /** Pure-JavaScript packages for device code: node_modules name → unpacked tree. */
  jsPackages: Record<string, string>;
  libraryTrees: string[];
  inputHashes: string[];
  npmArch: string;
  triplet: string;
  elfMachine: number;
}

/** koffi needs its JavaScript (including src/**\/*.cjs) and one native module; not its C++ sources or docs. */
function isKoffiRuntimeFile(rel: string): boolean {
  return /\.(c?js|mjs|json|node)$/.test(rel) && !rel.startsWith('vendor/') && !rel.startsWith('doc/') && !rel.includes('node_modules/');
}

export function runtimeLayer(src: RuntimeSources): LayerPlan {
  return {
    name: 'runtime',
    key: sha256(JSON.stringify({ layer: 'runtime', LAYER_FORMAT, inputs: src.inputHashes, arch: src.npmArch })),
    async build() {
      const scratch = await mkdtemp(path.join(os.tmpdir(), 'kiln-strip-'));
      try {
        const node = path.join(scratch, 'node');
        // The device never debugs Node: drop its symbol tables (150 MB → 116 MB). kiln's own stripper reads the
        // ELF of every architecture; the host's binutils read only the host's.
        await writeFile(node, stripElf(await readFile(path.join(src.nodeTree, 'bin', 'node'))));
        const nativeDir = `linux_${src.npmArch}`;
        const koffi = await readHostTree({ source: src.koffiTree, target: `${DEVICE_PREFIX}/node_modules/koffi`, include: isKoffiRuntimeFile, where: 'koffi' });
        const native = await readHostTree({
          source: src.koffiNativeTree,
          target: `${DEVICE_PREFIX}/node_modules/@koromix/koffi-linux-${src.npmArch}`,
          include: (rel) => isKoffiRuntimeFile(rel) && (!rel.endsWith('.node') || rel.startsWith(`${nativeDir}/`)),
          where: 'koffi native module',
        });
        const js = [];
        for (const [name, dir] of Object.entries(src.jsPackages)) {
          // JavaScript and package.json only: no type declarations, sources or docs on the device.
          js.push(
            ...(await readHostTree({
              source: dir,
              target: `${DEVICE_PREFIX}/node_modules/${name}`,
              include: (rel) => /\.(c?js|mjs|json)$/.test(rel) && !rel.includes('node_modules/'),
              where: name,
            })),
          );
        }
        const libs = await sharedLibraryClosure({
          roots: await runtimeElfRoots(src, node),
          libraryTrees: src.libraryTrees,
          triplet: src.triplet,
          elfMachine: src.elfMachine,
        });
        const entries: CpioEntry[] = [{ type: 'file', path: NODE_PATH, mode: 0o755, data: await readFile(node) }, ...koffi, ...native, ...js];
        for (const lib of libs) entries.push({ type: 'file', path: lib.target, mode: 0o755, data: await readFile(lib.source) });
        return {
          entries,
          parts: {
            'node (stripped)': size(entries.slice(0, 1)),
            koffi: size([...koffi, ...native]),
            'device JavaScript packages (zod, yaml)': size(js),
            'shared libraries': size(entries.slice(1 + koffi.length + native.length + js.length)),
          },
        };
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
    },
  };
}

/** The ELF files of the runtime layer: Node (`node`: its file on the host) and koffi's native module. */
async function runtimeElfRoots(src: RuntimeSources, node: string): Promise<Map<string, string>> {
  const nativeDir = `linux_${src.npmArch}`;
  const nativeModule = (await readdir(path.join(src.koffiNativeTree, nativeDir))).find((f) => f.endsWith('.node'));
  const roots = new Map([[NODE_PATH, node]]);
  if (nativeModule)
    roots.set(
      `${DEVICE_PREFIX}/node_modules/@koromix/koffi-linux-${src.npmArch}/${nativeDir}/${nativeModule}`,
      path.join(src.koffiNativeTree, nativeDir, nativeModule),
    );
  return roots;
}

/**
 * The device paths of the shared libraries the runtime layer ships, without building it (the layer is usually
 * cached): later layers need them but must not ship them again. Stripping keeps DT_NEEDED, so Node's unstripped
 * file names the same libraries.
 */
export async function runtimeLibraries(src: RuntimeSources): Promise<Set<string>> {
  const roots = await runtimeElfRoots(src, path.join(src.nodeTree, 'bin', 'node'));
  const libs = await sharedLibraryClosure({ roots, libraryTrees: src.libraryTrees, triplet: src.triplet, elfMachine: src.elfMachine });
  return new Set(libs.map((l) => l.target));
}

export function modulesLayer(release: string, modules: ShippedModules, kernelHash: string): LayerPlan {
  return {
    name: 'modules',
    key: sha256(JSON.stringify({ layer: 'modules', LAYER_FORMAT, kernelHash, modules: modules.order.map((m) => m.path) })),
    async build() {
      const base = `/lib/modules/${release}`;
      const entries: CpioEntry[] = [];
      for (const m of modules.order) entries.push({ type: 'file', path: `${base}/${m.path}`, mode: 0o644, data: await readFile(m.source) });
      entries.push({ type: 'file', path: `${base}/modules.dep`, mode: 0o644, data: Buffer.from(modules.modulesDep) });
      return { entries, parts: { [`kernel modules (${modules.order.length})`]: size(entries) } };
    },
  };
}

export interface KilnLayerSources {
  deviceDir: string;
  /** The text of /etc/kiln/boot.json, the boot contract (src/pipeline/steps/boot-config.ts). */
  bootJson: string;
  osRelease: string;
  files: { source: string; target: string; mode?: number; where: string }[];
  /** The config's programs under /src, their command stubs and kiln's tool stubs (src/programs), with their sizes. */
  programs?: { entries: CpioEntry[]; parts: Record<string, number> };
}

/** kiln's device sources as the image carries them: tests and their fakes stay on the host. */
function deviceSources(deviceDir: string) {
  return {
    source: deviceDir,
    target: `${DEVICE_PREFIX}/device`,
    // programs/run.js is the one JavaScript file: the program launcher must start without the TypeScript stripper.
    include: (rel: string) =>
      (rel.endsWith('.ts') && !rel.endsWith('.test.ts') && !rel.startsWith('testing/')) || rel === 'package.json' || rel === 'programs/run.js',
    where: 'device sources',
  };
}

/**
 * A hash of what the kiln layer copies from the host — the device sources, the first stage's C source (compiled
 * into a layout: source UKI) and the config's files — for the build id, which is itself inside that layer.
 */
export async function kilnSourcesHash(src: Pick<KilnLayerSources, 'deviceDir' | 'files'>): Promise<string> {
  const firstStage = { source: src.deviceDir, target: '/first-stage', include: (rel: string) => rel.endsWith('.c'), where: 'the first stage' };
  const hash = createHash('sha256');
  for (const spec of [deviceSources(src.deviceDir), firstStage, ...src.files])
    for (const e of await readHostTree(spec)) {
      hash.update(`${e.type} ${e.path} ${'mode' in e ? e.mode : ''} ${'target' in e ? e.target : ''}\n`);
      if (e.type === 'file') hash.update(e.data);
    }
  return hash.digest('hex');
}

export function kilnLayer(src: KilnLayerSources): LayerPlan {
  return {
    name: 'kiln',
    key: '', // small and changes with every config: always rebuilt, never cached
    async build() {
      const init: CpioEntry[] = [
        // The kernel runs /init; the shebang hands it to Node with the init's entry file (no shell involved).
        { type: 'file', path: '/init', mode: 0o755, data: Buffer.from(`#!${NODE_PATH} ${DEVICE_PREFIX}/device/init/main.ts\n`) },
        ...(await readHostTree(deviceSources(src.deviceDir))),
        { type: 'file', path: '/etc/kiln/boot.json', mode: 0o644, data: Buffer.from(src.bootJson) },
        { type: 'file', path: '/etc/os-release', mode: 0o644, data: Buffer.from(src.osRelease) },
      ];
      const base: CpioEntry[] = [
        ...['/proc', '/sys', '/dev', '/run', '/tmp', '/root', '/var', '/mnt'].map((p): CpioEntry => ({
          type: 'dir',
          path: p,
          mode: p === '/tmp' ? 0o1777 : 0o755,
        })),
        { type: 'char', path: '/dev/console', mode: 0o600, major: 5, minor: 1 },
        { type: 'char', path: '/dev/null', mode: 0o666, major: 1, minor: 3 },
      ];
      const files: CpioEntry[] = [];
      for (const f of src.files) files.push(...(await readHostTree(f)));
      const programs = src.programs?.entries ?? [];
      return {
        entries: [...base, ...init, ...files, ...programs],
        parts: { 'kiln init (TypeScript source)': size(init), 'config files': size(files), ...src.programs?.parts },
      };
    },
  };
}

function size(entries: readonly CpioEntry[]): number {
  return entries.reduce((n, e) => n + (e.type === 'file' ? e.data.length : 0), 0);
}
