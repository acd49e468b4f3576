/**
 * Resolving a loaded config, once per command (Vite's UserConfig → ResolvedConfig): every default the build needs is
 * filled here — the hostname, the list of architectures, the name the config is shown by — and the result is frozen,
 * so build, disk and run all read the same values and none of them loads the file again.
 */
import path from 'node:path';
import { loadConfig, type LoadedConfig } from './load.js';
import { configArches, type Arch, type Config } from './schema.js';

export interface ResolvedConfig extends LoadedConfig {
  config: Readonly<Config>;
  /** The hostname the device sets at boot: the config's, or its name. */
  hostname: string;
  /** The architectures to build, in the config's order. */
  arches: readonly Arch[];
  /** The config file as messages name it: relative to the working folder. */
  displayName: string;
}

export function resolveLoaded(loaded: LoadedConfig, cwd = process.cwd()): ResolvedConfig {
  const config = deepFreeze(loaded.config);
  return Object.freeze({
    file: loaded.file,
    dir: loaded.dir,
    config,
    hostname: config.hostname ?? config.name,
    arches: Object.freeze(configArches(config)),
    displayName: path.relative(cwd, loaded.file) || loaded.file,
  });
}

/** Loads, validates and resolves a config file. */
export async function resolveConfig(file: string): Promise<ResolvedConfig> {
  return resolveLoaded(await loadConfig(file));
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
