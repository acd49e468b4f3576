import { KilnError } from '../util/errors.js';

/** Where in a config file a problem is: 1-based line and column, and the key path. */
export interface ConfigLocation {
  file: string;
  line?: number;
  column?: number;
  keyPath: string;
}

/**
 * One problem in a config file, printed as one line:
 * `examples/minimal.yml:4:3: kernel.modules[0]: expected a kernel module name, found "virtio blk"`.
 */
export class ConfigError extends KilnError {
  readonly location: ConfigLocation;
  readonly problems: string[];
  constructor(location: ConfigLocation, problem: string, more: string[] = []) {
    super('CONFIG_INVALID', `${formatLocation(location)}: ${problem}`);
    this.name = 'ConfigError';
    this.location = location;
    this.problems = [this.message, ...more];
  }
}

export function formatLocation(l: ConfigLocation): string {
  const pos = l.line === undefined ? l.file : `${l.file}:${l.line}:${l.column ?? 1}`;
  return l.keyPath ? `${pos}: ${l.keyPath}` : pos;
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
