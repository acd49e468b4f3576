/**
 * `kiln build`: config → inputs → root filesystem layers → initramfs → UKI, one EFI per architecture.
 * Each step lives in its own module; this one only wires them and measures.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config/load.js';
import { configArches, type Arch, type Profile } from '../config/schema.js';
import { buildUki } from '../image/uki.js';
import { buildInitramfs, type BuiltLayer } from '../image/initramfs.js';
import { Cache, sha256 } from '../inputs/cache.js';
import { ARCH_NAMES, DEVICE_JS_PACKAGES, LIBRARY_PACKAGES } from '../inputs/catalog.js';
import { LOCK_NAME } from '../inputs/lock.js';
import { resolveInputs } from '../inputs/resolve.js';
import { unpackInput } from '../inputs/unpack.js';
import { findKernel, selectModules } from '../rootfs/kernel-modules.js';
import { networkModules } from '../rootfs/network-modules.js';
import { sourceStickModules, storageModules } from '../rootfs/storage-modules.js';
import { compileFirstStage } from '../rootfs/first-stage.js';
import { archDir, firstStageConfig, splitSourceRoot, SHARED_DIR } from '../rootfs/source-root.js';
import type { FatFile } from '../formats/fat/index.js';
import { espLabel } from '../disk/plan.js';
import { DEVICE_PREFIX, kilnLayer, modulesLayer, runtimeLayer, runtimeLibraries, type LayerPlan, type RuntimeSources } from '../rootfs/layers.js';
import { toolsLayer } from '../rootfs/tools-layer.js';
import { toolsFor } from '../inputs/tools.js';
import { preparePrograms, programPathOwner } from '../programs/prepare.js';
import { KilnError } from '../util/errors.js';
import type { Reporter } from '../util/report.js';
import { KILN_VERSION, PACKAGE_ROOT } from '../version.js';
import { ensureWritableDir, writeAtomically } from './out-dir.js';
import { pinContainerImages, type PinnedImage } from '../images/pin.js';

/** kiln's part of the kernel command line: console on the screen and the first serial port (the last
 * console= is /dev/console, where the init writes), and reboot at once on a panic instead of hanging. */
export function baseCmdline(arch: Arch): string {
  return `console=tty0 console=${ARCH_NAMES[arch].serialConsole},115200 panic=-1`;
}
export const BASE_CMDLINE = baseCmdline('x86_64');

export interface BuildOptions {
  configFile: string;
  outDir: string;
  profile: Profile;
  cacheRoot: string;
  reporter: Reporter;
  /** Seconds; file times in the image (SOURCE_DATE_EPOCH). */
  mtime: number;
  /** The architecture to build; required when the config names several (see buildAll). */
  arch?: Arch;
  /** layout: source — leave the shared src/ staged (buildAll publishes it once every architecture is built). */
  deferSharedSource?: boolean;
}

export interface BuildResult {
  name: string;
  arch: Arch;
  efi: string;
  size: number;
  buildId: string;
  profile: Profile;
  kernel: { package: string; version: string; release: string };
  modules: string[];
  cmdline: string;
  layers: BuiltLayer[];
  parts: Record<string, number>;
  /** The containers' images, pinned and verified in the cache: `kiln disk` seeds the device's store with them. */
  images: PinnedImage[];
  /** `layout: source`: what this architecture puts on the stick, written beside the EFI in the output folder. */
  stick?: StickFiles;
  durationMs: number;
}

export interface StickFiles {
  /** The folder holding them: the output folder, laid out as the stick's root (the ESP). */
  dir: string;
  /** Paths relative to `dir`: linux_<arch>/bin/node, linux_<arch>/lib/*, src/kiln/**, src/<program>/**. */
  files: string[];
  bytes: number;
  /** The filesystem label the first stage looks for. */
  label: string;
}

export async function build(o: BuildOptions): Promise<BuildResult> {
  const started = Date.now();
  const { config, dir, file } = await loadConfig(o.configFile);
  const arch = o.arch ?? onlyArch(configArches(config), file);
  const names = ARCH_NAMES[arch];
  await ensureWritableDir(o.outDir);
  const cache = new Cache(o.cacheRoot);

  const inputs = await resolveInputs(config, arch, { cache, lockFile: path.join(dir, LOCK_NAME), reporter: o.reporter });
  o.reporter.step('unpacking inputs');
  const input = (role: keyof typeof inputs) => {
    const resolved = inputs[role];
    if (resolved === undefined) throw new TypeError(`input ${arch}/${role} was not resolved`);
    return resolved;
  };
  const tree = async (role: keyof typeof inputs) => unpackInput(cache, input(role));
  const kernelTree = await tree('kernel');
  const kernel = await findKernel(kernelTree, inputs.kernel.entry.name);
  const modules = await selectModules(kernel, [...config.kernel.modules, ...networkModules(config), ...storageModules(config.storage), ...(config.layout === 'source' ? sourceStickModules() : [])], inputs.kernel.entry.name, arch);

  const images = await pinContainerImages(config.containers, { arch, configDir: dir, configName: path.relative(process.cwd(), file), cacheRoot: o.cacheRoot, reporter: o.reporter });
  const programs = await preparePrograms({ programs: config.programs, configDir: dir, configName: path.relative(process.cwd(), file), cache, reporter: o.reporter });

  const buildId = sha256(
    JSON.stringify({ kiln: KILN_VERSION, config, profile: o.profile, mtime: o.mtime, inputs: Object.values(inputs).map((i) => i.entry.sha256), programs: programs.fingerprint }),
  ).slice(0, 16);
  const hostname = config.hostname ?? config.name;
  const deviceDir = fileURLToPath(new URL('device/', PACKAGE_ROOT));
  const files = config.files.map((f, i) => ({ source: path.resolve(dir, f.source), target: f.target, mode: f.mode, where: `${path.relative(process.cwd(), file)}: files[${i}]` }));
  for (const f of files) {
    if (f.target === '/init' || f.target.startsWith(`${DEVICE_PREFIX}/`) || f.target.startsWith('/etc/kiln/')) {
      throw new KilnError('CONFIG_INVALID', `${f.where}.target: ${f.target} would replace a file of kiln itself`, { hint: 'Choose another target path.' });
    }
    const owner = programPathOwner(f.target, config.programs);
    if (owner !== undefined) throw new KilnError('CONFIG_INVALID', `${f.where}.target: ${f.target} would replace ${owner}`, { hint: 'Choose another target path.' });
  }
  const osRelease = [
    'NAME=kiln',
    'ID=kiln',
    `VERSION_ID=${KILN_VERSION}`,
    `PRETTY_NAME="kiln ${KILN_VERSION} (${config.name})"`,
    `IMAGE_ID=${config.name}`,
    `IMAGE_VERSION=${buildId}`,
    `BUILD_ID=${buildId}`,
    // kiln's own field (os-release allows vendor fields): kiln run tells an EFI that needs its stick by it.
    ...(config.layout === 'source' ? [`KILN_LAYOUT=source`, `KILN_SOURCE_LABEL=${espLabel(config)}`] : []),
    '',
  ].join('\n');

  const runtime: RuntimeSources = {
    nodeTree: await tree('node'),
    koffiTree: await tree('koffi'),
    koffiNativeTree: await tree('koffi-native'),
    jsPackages: Object.fromEntries(await Promise.all(DEVICE_JS_PACKAGES.map(async (p) => [p.role, await tree(p.role)] as const))),
    libraryTrees: await Promise.all(LIBRARY_PACKAGES.map((p) => tree(p))),
    inputHashes: (['node', 'koffi', 'koffi-native', ...DEVICE_JS_PACKAGES.map((p) => p.role), ...LIBRARY_PACKAGES] as const).map((r) => inputs[r].entry.sha256),
    npmArch: names.npm,
    triplet: names.triplet,
    elfMachine: names.elfMachine,
  };
  const tools = toolsFor(config);
  const toolLayers: LayerPlan[] = [];
  if (tools.length > 0) {
    const toolRoles = [...new Set(tools.flatMap((t) => [t.role, ...t.libraryPackages]))];
    toolLayers.push(
      toolsLayer({
        tools: await Promise.all(
          tools.map(async (t) => ({
            role: t.role,
            package: t.package,
            tree: await tree(t.role),
            binaries: t.binaries,
            libraries: await Promise.all(t.libraryPackages.map(async (p) => ({ package: p, tree: await tree(p) }))),
          })),
        ),
        provided: await runtimeLibraries(runtime),
        inputHashes: toolRoles.map((r) => input(r).entry.sha256),
        triplet: names.triplet,
        elfMachine: names.elfMachine,
      }),
    );
  }

  const kiln = kilnLayer({
    deviceDir,
    osRelease,
    files,
    programs,
    bootJson: {
      name: config.name,
      hostname,
      kilnVersion: KILN_VERSION,
      buildId,
      arch,
      modules: modules.order.map((m) => ({ name: m.name, path: `/lib/modules/${kernel.release}/${m.path}` })),
      // What the device applies at boot (see device/init): the primary config's device-side sections.
      debug: config.debug,
      storage: config.storage,
      secondary: config.secondary,
      network: config.network,
      time: config.time,
      sysctl: config.sysctl,
      log: config.log,
      logs: config.logs,
      statusPort: config.statusPort,
      apiPort: config.apiPort,
      programs: programs.boot,
      // Each container with the digest kiln.lock pins: the device runs exactly that image from its store.
      ...(config.containers.length > 0
        ? { containers: config.containers.map((c, i) => ({ ...c, digest: images[i]!.image.manifestDigest })), containerStore: config.containerStore }
        : {}),
    },
  });
  const modulesPlan = modulesLayer(kernel.release, modules, inputs.kernel.entry.sha256);
  let layers: LayerPlan[] = [runtimeLayer(runtime), modulesPlan, ...toolLayers, kiln];
  let stickPlan: { files: FatFile[]; own: string; label: string } | undefined;
  if (config.layout === 'source') {
    o.reporter.step('splitting the root between the UKI and the stick (layout: source)');
    const label = espLabel(config);
    const split = splitSourceRoot({
      runtime: (await runtimeLayer(runtime).build()).entries,
      kiln: (await kiln.build()).entries,
      debArch: names.deb,
      firstStage: await compileFirstStage(arch, cache),
      firstStageConfig: firstStageConfig({ label, modules: modules.order.map((m) => `/lib/modules/${kernel.release}/${m.path}`), waitSeconds: 120 }),
    });
    const firstStageLayer: LayerPlan = {
      name: 'kiln',
      key: '',
      build: async () => ({ entries: split.initramfs, parts: { 'first stage, boot.json, files, stubs, links': split.initramfs.reduce((n, e) => n + (e.type === 'file' ? e.data.length : 0), 0) } }),
    };
    layers = [modulesPlan, ...toolLayers, firstStageLayer];
    stickPlan = { files: split.stick, own: archDir(names.deb), label };
  }
  const compression = config.compression[o.profile];
  const initramfs = await buildInitramfs(layers, { compression, arch, mtime: o.mtime, cache, reporter: o.reporter });

  o.reporter.step('writing the unified kernel image');
  const stubTree = await tree('stub');
  const stub = await readFile(path.join(stubTree, names.stub));
  const linux = await readFile(kernel.vmlinuz);
  const cmdline = [baseCmdline(arch), config.kernel.cmdline.trim()].filter(Boolean).join(' ');
  const efiBytes = buildUki({ stub, linux, initrd: initramfs.data, cmdline, osrel: osRelease, uname: kernel.release });
  const efi = path.join(o.outDir, names.efiName);
  // The stick's files first, once everything is built: a failed build leaves the output folder as it was.
  const stick = stickPlan === undefined ? undefined : await writeStick(o.outDir, stickPlan.files, stickPlan.own, stickPlan.label);
  if (stick !== undefined && !o.deferSharedSource) await publishSharedSource(o.outDir);
  await writeAtomically(efi, efiBytes);

  const parts: Record<string, number> = { 'kernel (vmlinuz)': linux.length, 'UKI stub': stub.length };
  for (const l of initramfs.layers) Object.assign(parts, l.parts);
  if (stick !== undefined) parts[`on the stick (${stick.files.length} files, read from disk)`] = stick.bytes;
  return {
    name: config.name,
    arch,
    efi,
    size: efiBytes.length,
    buildId,
    profile: o.profile,
    kernel: { package: inputs.kernel.entry.name, version: inputs.kernel.entry.version, release: kernel.release },
    modules: modules.order.map((m) => m.name),
    cmdline,
    layers: initramfs.layers,
    parts,
    images,
    stick,
    durationMs: Date.now() - started,
  };
}

/** Where the shared src/ is staged until every architecture of the run is built (then publishSharedSource). */
const SHARED_STAGING = `.${SHARED_DIR}.new`;

/**
 * Writes this architecture's stick files into the output folder: its own linux_<arch>/ replaced whole, and its
 * files of the shared src/ into the staging folder, which ends as the union over the run's architectures.
 */
async function writeStick(outDir: string, files: readonly { path: string; data: Uint8Array }[], own: string, label: string): Promise<StickFiles> {
  const fresh = path.join(outDir, `.${own}.new`);
  await rm(fresh, { recursive: true, force: true });
  for (const f of files) {
    const inOwn = f.path.startsWith(`${own}/`);
    const target = inOwn ? path.join(fresh, f.path.slice(own.length + 1)) : path.join(outDir, SHARED_STAGING, f.path.slice(SHARED_DIR.length + 1));
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, f.data);
  }
  await rm(path.join(outDir, own), { recursive: true, force: true });
  await rename(fresh, path.join(outDir, own));
  return { dir: outDir, files: files.map((f) => f.path), bytes: files.reduce((n, f) => n + f.data.length, 0), label };
}

/**
 * Every architecture the config names, one after the other into the same folder (BOOTX64.EFI, BOOTAA64.EFI):
 * each is the single-architecture build above with its own inputs (pinned per architecture in kiln.lock).
 */
export async function buildAll(o: BuildOptions): Promise<BuildResult[]> {
  const { config } = await loadConfig(o.configFile);
  const results: BuildResult[] = [];
  // layout: source — the shared src/ is staged by every architecture of this run, then replaces the old one.
  if (config.layout === 'source') {
    await checkSharedSource(o.outDir);
    await rm(path.join(o.outDir, SHARED_STAGING), { recursive: true, force: true });
  }
  for (const arch of o.arch ? [o.arch] : configArches(config)) results.push(await build({ ...o, arch, deferSharedSource: true }));
  if (config.layout === 'source') await publishSharedSource(o.outDir);
  return results;
}

/** The output folder's src/ may be replaced only when it is a stick tree kiln wrote (never a user's own src/). */
async function checkSharedSource(outDir: string): Promise<void> {
  const shared = path.join(outDir, SHARED_DIR);
  const entries = await readdir(shared).catch(() => undefined);
  if (entries !== undefined && !entries.includes('kiln')) {
    throw new KilnError('BUILD_OUT_DIR', `${shared} exists and is not a stick tree kiln wrote (no src/kiln): layout: source writes its shared src/ there`, {
      hint: 'Build into another folder: --out out',
    });
  }
}

/** The staged shared src/ replaces the output folder's. */
async function publishSharedSource(outDir: string): Promise<void> {
  await checkSharedSource(outDir);
  await rm(path.join(outDir, SHARED_DIR), { recursive: true, force: true });
  await rename(path.join(outDir, SHARED_STAGING), path.join(outDir, SHARED_DIR));
}

function onlyArch(arches: Arch[], file: string): Arch {
  if (arches.length !== 1) throw new TypeError(`${file} names ${arches.length} architectures: build() takes one (options.arch), buildAll() all`);
  return arches[0]!;
}
