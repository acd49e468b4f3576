/**
 * `kiln build`: resolved config → inputs → kernel → root filesystem layers → initramfs → UKI, one EFI per
 * architecture. Each step lives in its own module (steps/, rootfs/, image/); this one only wires them in order.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ResolvedConfig } from '../config/resolve.js';
import type { Arch, Profile } from '../config/schema.js';
import { buildUki } from '../image/uki.js';
import { buildInitramfs, type BuiltLayer } from '../image/initramfs.js';
import { Cache } from '../inputs/cache.js';
import { LOCK_NAME } from '../inputs/lock.js';
import { resolveInputs } from '../inputs/resolve.js';
import { unpackInput } from '../inputs/unpack.js';
import { findKernel, selectModules } from '../rootfs/kernel-modules.js';
import { networkModules } from '../rootfs/network-modules.js';
import { sourceStickModules, storageModules } from '../rootfs/storage-modules.js';
import { watchdogModules } from '../rootfs/watchdog-modules.js';
import { compileFirstStage } from '../rootfs/first-stage.js';
import { archDir, splitSourceRoot } from '../rootfs/source-root.js';
import { SLOT_LABELS } from '../../device/contract/config/update-schema.ts';
import type { FatFile } from '../formats/fat/index.js';
import { espLabel } from '../disk/plan.js';
import { kilnLayer, kilnSourcesHash, modulesLayer, runtimeLayer, type LayerPlan } from '../rootfs/layers.js';
import { preparePrograms } from '../programs/prepare.js';
import type { Reporter } from '../util/report.js';
import { PACKAGE_ROOT } from '../version.js';
import { ensureWritableDir, writeAtomically } from './out-dir.js';
import { pinContainerImages, type PinnedImage } from '../container-images/pin.js';
import { bootConfigJson, bootConfigOf } from './steps/boot-config.js';
import { buildIdOf } from './steps/build-id.js';
import { fileTargets } from './steps/file-targets.js';
import { osRelease } from './steps/os-release.js';
import { runtimeSourcesOf, toolLayersOf, type UnpackedInputs } from './steps/root-layers.js';
import { publishSharedSource, startSharedSource, writeStick, type StickFiles } from './steps/stick.js';
import { ARCH_TABLE } from '../config/arch.js';
import { checkFitsSlot, updateCmdline, updateKeyFile, updateModules } from '../update/build-parts.js';
import { signedUkiBytes, signerOf, type SigningOptions } from './steps/signing.js';

export type { StickFiles };

/** kiln's part of the kernel command line: console on the screen and the first serial port (the last
 * console= is /dev/console, where the init writes), and reboot at once on a panic instead of hanging. */
export function baseCmdline(arch: Arch): string {
  return `console=tty0 console=${ARCH_TABLE[arch].serialConsole},115200 panic=-1`;
}
export const BASE_CMDLINE = baseCmdline('x86_64');

export interface BuildOptions {
  /** The config, loaded and resolved once by the command (config/resolve.ts). */
  resolved: ResolvedConfig;
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
  /** Secure Boot: who signs instead of the config's `signing`, and the key's passphrase. */
  signing?: SigningOptions;
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
  /** Secure Boot: the certificate whose key signed the EFI; absent for an unsigned one. */
  signedBy?: string;
  durationMs: number;
}

export async function build(o: BuildOptions): Promise<BuildResult> {
  const started = Date.now();
  const { config, dir } = o.resolved;
  const arch = o.arch ?? onlyArch(o.resolved.arches, o.resolved.file);
  const names = ARCH_TABLE[arch];
  await ensureWritableDir(o.outDir);
  const cache = new Cache(o.cacheRoot);
  const configName = o.resolved.displayName;
  // Checked before the long steps: a wrong key or certificate costs seconds, not a build.
  const signer = await signerOf(o.resolved, o.signing);

  // 1. inputs: resolved against kiln.lock, then unpacked into the cache as each step needs them
  const inputs = await resolveInputs(config, arch, { cache, lockFile: path.join(dir, LOCK_NAME), reporter: o.reporter });
  o.reporter.step('unpacking inputs');
  const unpacked: UnpackedInputs = {
    input: (role) => {
      const resolved = inputs[role];
      if (resolved === undefined) throw new TypeError(`input ${arch}/${role} was not resolved`);
      return resolved;
    },
    tree: async (role) => unpackInput(cache, unpacked.input(role)),
  };

  // 2. kernel: the package's vmlinuz and the modules to ship, with their dependencies
  const kernel = await findKernel(await unpacked.tree('kernel'), inputs.kernel.entry.name);
  const modules = await selectModules(
    kernel,
    [
      ...config.kernel.modules,
      ...networkModules(config),
      ...storageModules(config.storage),
      ...watchdogModules(config),
      ...updateModules(config),
      ...(config.layout === 'source' ? sourceStickModules() : []),
    ],
    inputs.kernel.entry.name,
    arch,
  );
  const bootModules = modules.order.map((m) => ({ name: m.name, path: `/lib/modules/${kernel.release}/${m.path}` }));

  // 3. what the config adds: container images (pinned), programs (prepared), files (checked)
  const images = await pinContainerImages(config.containers, { arch, configDir: dir, configName, cacheRoot: o.cacheRoot, reporter: o.reporter });
  const programs = await preparePrograms({ programs: config.programs, configDir: dir, configName, cache, reporter: o.reporter });
  const updateKey = await updateKeyFile(o.resolved);
  const files = [...fileTargets(o.resolved), ...(updateKey === undefined ? [] : [updateKey])];
  const deviceDir = fileURLToPath(new URL('device/', PACKAGE_ROOT));
  const buildId = buildIdOf({
    config,
    profile: o.profile,
    mtime: o.mtime,
    inputHashes: Object.values(inputs).map((i) => i.entry.sha256),
    programs: programs.fingerprint,
    sources: await kilnSourcesHash({ deviceDir, files }),
  });
  const release = osRelease(config, buildId);
  const boot = bootConfigOf(o.resolved, {
    buildId,
    arch,
    modules: bootModules,
    programs: programs.boot,
    containerDigests: images.map((i) => i.image.manifestDigest),
  });

  // 4. root filesystem: the layers, from the one that changes least to the kiln layer
  const runtime = await runtimeSourcesOf(arch, unpacked);
  const toolLayers = await toolLayersOf(config, arch, unpacked, runtime);
  const kiln = kilnLayer({ deviceDir, osRelease: release, files, programs, bootJson: bootConfigJson(boot) });
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
      // With updates the tree is in a boot slot (the one holding this build), else on the ESP.
      labels: config.update === undefined ? [label] : [...SLOT_LABELS, label],
      modules: bootModules.map((m) => m.path),
      buildId,
    });
    const firstStageLayer: LayerPlan = {
      name: 'kiln',
      key: '',
      build: async () => ({
        entries: split.initramfs,
        parts: { 'first stage, boot.json, files, stubs, links': split.initramfs.reduce((n, e) => n + (e.type === 'file' ? e.data.length : 0), 0) },
      }),
    };
    layers = [modulesPlan, ...toolLayers, firstStageLayer];
    stickPlan = { files: split.stick, own: archDir(names.deb), label };
  }
  const initramfs = await buildInitramfs(layers, { compression: config.compression[o.profile], arch, mtime: o.mtime, cache, reporter: o.reporter });

  // 5. image: the unified kernel image
  o.reporter.step('writing the unified kernel image');
  const stub = await readFile(path.join(await unpacked.tree('stub'), names.stub));
  const linux = await readFile(kernel.vmlinuz);
  const cmdline = [baseCmdline(arch), updateCmdline(config), config.kernel.cmdline.trim()].filter(Boolean).join(' ');
  const unsigned = buildUki({ stub, linux, initrd: initramfs.data, cmdline, osrel: release, uname: kernel.release });
  const efi = path.join(o.outDir, names.efiName);
  // The UKI's last step: its signed bytes replace the unsigned ones before anything is written (the tree of
  // layout: source is not PE and stays as it is).
  if (signer !== undefined) o.reporter.step('signing the unified kernel image (Secure Boot)');
  const efiBytes = signer === undefined ? unsigned : await signedUkiBytes(unsigned, signer, o.mtime, efi);
  // A slot holds the UKI and, with layout: source, this architecture's tree.
  checkFitsSlot(config, efiBytes.length + (stickPlan?.files.reduce((n, f) => n + f.data.length, 0) ?? 0), configName);
  // 6. output: the stick's files first, once everything is built, so a failed build leaves the folder as it was
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
    ...(signer === undefined ? {} : { signedBy: signer.cert }),
    durationMs: Date.now() - started,
  };
}

/**
 * Every architecture the config names, one after the other into the same folder (BOOTX64.EFI, BOOTAA64.EFI):
 * each is the single-architecture build above with its own inputs (pinned per architecture in kiln.lock).
 */
export async function buildAll(o: BuildOptions): Promise<BuildResult[]> {
  const { config } = o.resolved;
  const results: BuildResult[] = [];
  // layout: source — the shared src/ is staged by every architecture of this run, then replaces the old one.
  if (config.layout === 'source') await startSharedSource(o.outDir);
  for (const arch of o.arch ? [o.arch] : o.resolved.arches) results.push(await build({ ...o, arch, deferSharedSource: true }));
  if (config.layout === 'source') await publishSharedSource(o.outDir);
  return results;
}

function onlyArch(arches: readonly Arch[], file: string): Arch {
  if (arches.length !== 1) throw new TypeError(`${file} names ${arches.length} architectures: build() takes one (options.arch), buildAll() all`);
  return arches[0]!;
}
