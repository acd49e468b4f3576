/**
 * Where a config problem is, and how kiln prints it: `file:line:col: key.path: message`. Shared by the host (the
 * primary config, `kiln config check`) and the device (the secondary config at boot), so both print the same lines.
 */

/** Where in a config file a problem is: 1-based line and column, and the key path. */
export interface ConfigLocation {
  file: string;
  line?: number;
  column?: number;
  keyPath: string;
}

/** A problem with its place, before it is printed. */
export interface LocatedProblem {
  location: ConfigLocation;
  message: string;
}

export function formatLocation(l: ConfigLocation): string {
  const pos = l.line === undefined ? l.file : `${l.file}:${l.line}:${l.column ?? 1}`;
  return l.keyPath ? `${pos}: ${l.keyPath}` : pos;
}

/** `examples/minimal.yml:4:3: kernel.modules[0]: expected a kernel module name, found "virtio blk"` */
export function formatProblem(problem: LocatedProblem): string {
  return `${formatLocation(problem.location)}: ${problem.message}`;
}

/** `['kernel', 'modules', 1]` → `kernel.modules[1]` */
export function formatKeyPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}
