/**
 * The shared-library closure of the ELF programs shipped on the device, found by reading PT_INTERP and DT_NEEDED
 * (never by running ldd, which would describe the host, not the device). Libraries come only from the unpacked
 * Debian library packages of the device's architecture: nothing missing (an unresolved DT_NEEDED is an error
 * naming who needs it) and nothing extra (only what some shipped ELF needs).
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { decodeElf } from '../formats/elf/index.js';
import { KilnError } from '../util/errors.js';

export interface ShippedLibrary {
  /** Absolute path on the device. */
  target: string;
  /** The real file in an unpacked package. */
  source: string;
  /** Which shipped ELF first needed it (for messages and the summary). */
  neededBy: string;
}

export interface ClosureInput {
  /** ELF files shipped on the device: device path → host file. */
  roots: ReadonlyMap<string, string>;
  /** Unpacked library package folders, searched in order. */
  libraryTrees: readonly string[];
  /** The packages of `libraryTrees`, by name, for the message when a soname is in none of them. */
  libraryPackages?: readonly string[];
  /**
   * Libraries an earlier layer already ships (device paths, with their own closure): needed, but not shipped
   * again. The runtime layer's libc is the tools layer's libc.
   */
  provided?: ReadonlySet<string>;
  /** Multiarch triplet, e.g. x86_64-linux-gnu: libraries live in /lib/<triplet> on the device. */
  triplet: string;
  elfMachine: number;
}

export async function sharedLibraryClosure(input: ClosureInput): Promise<ShippedLibrary[]> {
  const searchDirs = input.libraryTrees.flatMap((t) => [`lib/${input.triplet}`, `usr/lib/${input.triplet}`, 'lib64', 'lib'].map((d) => path.join(t, d)));
  const shipped = new Map<string, ShippedLibrary>();
  const loaded = new Set<string>();
  const queue: { target: string; source: string }[] = [...input.roots].map(([target, source]) => ({ target, source }));

  while (queue.length > 0) {
    const { target, source } = queue.shift()!;
    const elf = decodeElf(await readFile(source));
    if (elf.machine !== input.elfMachine) {
      throw new KilnError('ELF_ARCH', `${target}: built for ELF machine ${elf.machine}, the device needs ${input.elfMachine}`);
    }
    const wanted: { target: string; name: string }[] = [];
    if (elf.interp) {
      wanted.push({ target: elf.interp, name: path.basename(elf.interp) });
      loaded.add(path.basename(elf.interp)); // the loader satisfies its own soname
    }
    for (const name of elf.needed) {
      if (name.includes('/')) throw new KilnError('ELF_NEEDED', `${target}: DT_NEEDED "${name}" is a path; only sonames are supported`);
      wanted.push({ target: `/lib/${input.triplet}/${name}`, name });
    }
    for (const w of wanted) {
      if (shipped.has(w.target) || (loaded.has(w.name) && w.target !== elf.interp)) continue;
      if (input.provided?.has(w.target)) {
        loaded.add(w.name);
        continue;
      }
      const found = await findLibrary(w.name, searchDirs);
      if (!found) {
        const names = input.libraryPackages;
        throw new KilnError('ELF_NEEDED', `${target} needs ${w.name}, which none of the library packages provides${names ? ` (${names.join(', ')})` : ''}`, {
          hint: names
            ? `Add the Debian package that holds ${w.name} to the tool's library packages (src/inputs/tools.ts); \`dpkg -S ${w.name}\` on a Debian machine names it.`
            : `Searched ${input.libraryTrees.length} unpacked packages for ${w.name}.`,
        });
      }
      shipped.set(w.target, { target: w.target, source: found, neededBy: target });
      loaded.add(w.name);
      queue.push({ target: w.target, source: found });
    }
  }
  return [...shipped.values()].sort((a, b) => (a.target < b.target ? -1 : 1));
}

async function findLibrary(name: string, dirs: readonly string[]): Promise<string | undefined> {
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      if ((await stat(candidate)).isFile()) return await realpath(candidate);
    } catch {
      // not in this folder
    }
  }
  return undefined;
}
