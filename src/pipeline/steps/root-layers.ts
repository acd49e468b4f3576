/**
 * Build step: the plans of the initramfs layers below the kiln layer — the runtime (Node, koffi, the device's
 * JavaScript packages and their shared libraries) and, when the config needs Debian programs, the tools layer —
 * from the unpacked inputs. Each plan is built (or taken from the cache) by the initramfs step.
 */
import type { Arch, Config } from '../../config/schema.js';
import { DEVICE_JS_PACKAGES, LIBRARY_PACKAGES } from '../../inputs/catalog.js';
import type { ResolvedInput, ResolvedInputs } from '../../inputs/resolve.js';
import { toolsFor } from '../../inputs/tools.js';
import { runtimeLibraries, type LayerPlan, type RuntimeSources } from '../../rootfs/layers.js';
import { toolsLayer } from '../../rootfs/tools-layer.js';
import { ARCH_TABLE } from '../../config/arch.js';

type Role = keyof ResolvedInputs;

export interface UnpackedInputs {
  /** The resolved input of a role (throws for one the config did not need). */
  input(role: Role): ResolvedInput;
  /** The folder an input is unpacked to, in the cache. */
  tree(role: Role): Promise<string>;
}

export async function runtimeSourcesOf(arch: Arch, inputs: UnpackedInputs): Promise<RuntimeSources> {
  const names = ARCH_TABLE[arch];
  const { tree, input } = inputs;
  return {
    nodeTree: await tree('node'),
    koffiTree: await tree('koffi'),
    koffiNativeTree: await tree('koffi-native'),
    jsPackages: Object.fromEntries(await Promise.all(DEVICE_JS_PACKAGES.map(async (p) => [p.role, await tree(p.role)] as const))),
    libraryTrees: await Promise.all(LIBRARY_PACKAGES.map((p) => tree(p))),
    inputHashes: (['node', 'koffi', 'koffi-native', ...DEVICE_JS_PACKAGES.map((p) => p.role), ...LIBRARY_PACKAGES] as const).map((r) => input(r).entry.sha256),
    npmArch: names.npm,
    triplet: names.triplet,
    elfMachine: names.elfMachine,
  };
}

/** The tools layer (e2fsck, fsck.fat, crun … with their libraries), or none when the config needs no Debian program. */
export async function toolLayersOf(config: Config, arch: Arch, inputs: UnpackedInputs, runtime: RuntimeSources): Promise<LayerPlan[]> {
  const tools = toolsFor(config);
  if (tools.length === 0) return [];
  const names = ARCH_TABLE[arch];
  const { tree, input } = inputs;
  const toolRoles = [...new Set(tools.flatMap((t) => [t.role, ...t.libraryPackages]))];
  return [
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
  ];
}
