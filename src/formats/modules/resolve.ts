import { KilnError } from '../../util/errors.js';
import { moduleName } from './name.js';

/** Where resolveModules learns about the installed modules; kiln backs it with the extracted kernel package. */
export interface ModuleLookup {
  /** The module file for a name (relative to /lib/modules/<release>), or undefined when no such module ships. */
  pathOf(name: string): string | undefined;
  /** The names (or paths) of the modules `path` needs loaded first, e.g. from its `.modinfo` `depends=`. */
  dependsOf(path: string): string[];
  /** Whether the module is compiled into the kernel (modules.builtin), so there is nothing to load. */
  isBuiltin(name: string): boolean;
}

export interface ResolvedModules {
  /** Every module to load, each after all of its dependencies. */
  order: { name: string; path: string }[];
  /** Requested or depended-on names that are built into the kernel. */
  builtin: string[];
  /** Requested or depended-on names with no module file and not built in. */
  missing: string[];
}

/** Modules that depend on each other in a loop: no load order exists. */
export class ModuleCycleError extends KilnError {
  /** The loop, first name repeated at the end: ['a', 'b', 'a']. */
  readonly cycle: string[];
  constructor(cycle: string[]) {
    super('MODULE_CYCLE', `Kernel module dependency cycle: ${cycle.join(' -> ')}`, {
      hint: 'The kernel package metadata is inconsistent; no order can load these modules.',
    });
    this.name = 'ModuleCycleError';
    this.cycle = cycle;
  }
}

/**
 * The dependency closure of the requested modules, in a load order with every dependency before its users (what
 * `modprobe --show-depends` prints). Names are normalised with moduleName ('virtio-blk' = 'virtio_blk').
 * Built-in modules are skipped and listed; unknown names are collected in `missing`, not thrown, so the caller can
 * report all of them at once. Throws ModuleCycleError when dependencies loop.
 *
 * @example
 * const deps: Record<string, string[]> = { 'ext4.ko': ['jbd2', 'crc16'], 'jbd2.ko': [] };
 * resolveModules(['ext4'], {
 *   pathOf: (name) => (name === 'ext4' || name === 'jbd2' ? `${name}.ko` : undefined),
 *   dependsOf: (path) => deps[path] ?? [],
 *   isBuiltin: (name) => name === 'crc16',
 * });
 * // { order: [{ name: 'jbd2', path: 'jbd2.ko' }, { name: 'ext4', path: 'ext4.ko' }], builtin: ['crc16'], missing: [] }
 */
export function resolveModules(requested: readonly string[], lookup: ModuleLookup): ResolvedModules {
  const result: ResolvedModules = { order: [], builtin: [], missing: [] };
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = []; // the names being visited, outermost first: a cycle is a suffix of it

  const visit = (name: string): void => {
    const seen = state.get(name);
    if (seen === 'done') return;
    if (seen === 'visiting') throw new ModuleCycleError([...path.slice(path.indexOf(name)), name]);
    if (lookup.isBuiltin(name)) {
      state.set(name, 'done');
      result.builtin.push(name);
      return;
    }
    const file = lookup.pathOf(name);
    if (file === undefined) {
      state.set(name, 'done');
      result.missing.push(name);
      return;
    }
    state.set(name, 'visiting');
    path.push(name);
    for (const dep of lookup.dependsOf(file)) visit(moduleName(dep));
    path.pop();
    state.set(name, 'done');
    result.order.push({ name, path: file });
  };

  for (const name of requested) visit(moduleName(name));
  return result;
}
