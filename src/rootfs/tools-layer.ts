/**
 * The `tools` layer: Debian programs the config needs (src/inputs/tools.ts: e2fsck for `fsck: true` on ext4,
 * fsck.fat on vfat, crun for containers, efibootmgr for a `debug` image with `update`), each with exactly the
 * shared libraries its DT_NEEDED closure names, found in that tool's own library packages. Libraries the runtime
 * layer already ships (libc, the loader) are not shipped twice. Binaries and libraries are stripped like Node.
 * Cached by the hash of what it is made from; absent from images that need no tool.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { CpioEntry } from '../formats/cpio/index.js';
import { stripElf } from '../formats/elf/index.js';
import { sha256 } from '../inputs/cache.js';
import { KilnError } from '../util/errors.js';
import { sharedLibraryClosure } from './elf-closure.js';
import { LAYER_FORMAT, type LayerPlan } from './layers.js';

export interface ToolSource {
  role: string;
  /** Debian package of the binaries, and its unpacked tree. */
  package: string;
  tree: string;
  binaries: readonly { source: string; target: string }[];
  /** The tool's library packages, by name, and their unpacked trees (searched in this order). */
  libraries: readonly { package: string; tree: string }[];
}

export interface ToolsSources {
  tools: readonly ToolSource[];
  /** Libraries the runtime layer ships (device paths): needed by tools, not shipped again. */
  provided: ReadonlySet<string>;
  /** sha256 of every input the layer is made from: the tools' packages and their library packages. */
  inputHashes: readonly string[];
  triplet: string;
  elfMachine: number;
}

export function toolsLayer(src: ToolsSources): LayerPlan {
  return {
    name: 'tools',
    key: sha256(
      JSON.stringify({
        layer: 'tools',
        LAYER_FORMAT,
        inputs: src.inputHashes,
        tools: src.tools.map((t) => ({ role: t.role, binaries: t.binaries, libraries: t.libraries.map((l) => l.package) })),
        provided: [...src.provided].sort(),
        triplet: src.triplet,
      }),
    ),
    async build() {
      const entries: CpioEntry[] = [];
      const parts: Record<string, number> = {};
      const shipped = new Set(src.provided);
      for (const tool of src.tools) {
        const roots = new Map<string, string>();
        for (const b of tool.binaries) roots.set(b.target, await binaryIn(tool, b.source));
        // Each tool's closure is searched in its own packages only: the table must say where every soname comes from.
        const libs = await sharedLibraryClosure({
          roots,
          libraryTrees: tool.libraries.map((l) => l.tree),
          libraryPackages: tool.libraries.map((l) => l.package),
          provided: src.provided,
          triplet: src.triplet,
          elfMachine: src.elfMachine,
        });
        let bytes = 0;
        for (const [target, source] of [...roots, ...libs.map((l) => [l.target, l.source] as const)]) {
          if (shipped.has(target)) continue; // a library an earlier tool in the layer brought already
          shipped.add(target);
          const data = stripElf(await readFile(source));
          entries.push({ type: 'file', path: target, mode: 0o755, data });
          bytes += data.length;
        }
        parts[`${tool.role} (${tool.package}) with its libraries`] = bytes;
      }
      return { entries, parts };
    },
  };
}

async function binaryIn(tool: ToolSource, rel: string): Promise<string> {
  const file = path.join(tool.tree, rel);
  try {
    if (!(await stat(file)).isFile()) throw new Error('not a file');
  } catch {
    throw new KilnError('INPUT_CONTENT', `Debian package ${tool.package} has no ${rel}, the ${tool.role} kiln ships`, {
      hint: 'The pinned version moved the program; update the binary path in src/inputs/tools.ts.',
    });
  }
  return file;
}
