/**
 * Loading a config: read → parse (YAML with positions, or a `kiln.config.ts` module) → validate against
 * the one schema → report the first problems with file:line:column and key path. Resolving (profiles,
 * per-arch defaults) is a separate step: see resolve.ts.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { KilnError } from '../util/errors.js';
import type { Problem } from '../../device/contract/config/issues.ts';
import { formatKeyPath, formatProblem, type ConfigLocation } from '../../device/contract/config/location.ts';
import { validateData } from '../../device/contract/config/validate.ts';
import { locateInYaml, parseYaml } from '../../device/contract/config/yaml-source.ts';
import { configSchema, type Config } from './schema.js';
import { ConfigError } from './errors.js';

export interface LoadedConfig {
  /** Absolute path of the config file. */
  file: string;
  /** Folder that relative paths in the config are resolved against, and where kiln.lock lives. */
  dir: string;
  config: Config;
}

/** Loads and validates `kiln.yml` / `*.yaml` / `kiln.config.ts` (or .js/.mjs). */
export async function loadConfig(file: string): Promise<LoadedConfig> {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new KilnError('CONFIG_UNREADABLE', `${file}: cannot read config (${code ?? String(err)})`, {
      hint: code === 'ENOENT' ? 'Check the path; `kiln build examples/minimal.yml` shows the expected shape.' : undefined,
    });
  }
  const config = /\.(c|m)?[jt]s$/.test(abs) ? await validateModule(file, abs, text) : validateYaml(file, text);
  return { file: abs, dir: path.dirname(abs), config };
}

/** Validates YAML text; `displayName` is how errors name the file. */
export function validateYaml(displayName: string, text: string): Config {
  const parsed = parseYaml(displayName, text);
  if (!parsed.ok) throw new ConfigError(parsed.problem.location, parsed.problem.message);
  const { source } = parsed;
  return validate(source.data, (problem) => locateInYaml(source, problem));
}

async function validateModule(displayName: string, abs: string, text: string): Promise<Config> {
  let mod: { default?: unknown };
  try {
    if (abs.endsWith('.ts') || abs.endsWith('.mts') || abs.endsWith('.cts')) {
      // Node 20 cannot run TypeScript itself; tsx compiles the config on the fly.
      const { tsImport } = await import('tsx/esm/api');
      mod = (await tsImport(pathToFileURL(abs).href, import.meta.url)) as { default?: unknown };
    } else {
      mod = (await import(pathToFileURL(abs).href)) as { default?: unknown };
    }
  } catch (err) {
    throw new KilnError('CONFIG_INVALID', `${displayName}: cannot load config module: ${firstLine(String((err as Error).message ?? err))}`);
  }
  const data = (mod.default as { default?: unknown } | undefined)?.default ?? mod.default;
  if (data === undefined) {
    throw new KilnError('CONFIG_INVALID', `${displayName}: the module has no default export`, {
      hint: 'Write `export default defineConfig({ ... })`.',
    });
  }
  return validate(data, (problem) => locateInSource(displayName, text, problem));
}

function validate(data: unknown, locate: (p: Problem) => ConfigLocation): Config {
  const result = validateData(configSchema, data, locate);
  if (result.ok) return result.value;
  const [first, ...rest] = result.problems;
  throw new ConfigError(first!.location, first!.message, rest.map(formatProblem));
}

/** For a TypeScript config: the position of the innermost key of the path found in the source text. */
function locateInSource(file: string, text: string, problem: Problem): ConfigLocation {
  const keys = [...problem.path, ...(problem.key ? [problem.key] : [])].filter((k): k is string => typeof k === 'string');
  let at = 0;
  let found = -1;
  for (const key of keys) {
    const re = new RegExp(`["']?${key.replace(/[$]/g, '\\$')}["']?\\s*:`, 'g');
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) break;
    found = m.index;
    at = m.index + m[0].length;
  }
  const keyPath = formatKeyPath(problem.key ? [...problem.path, problem.key] : problem.path);
  if (found < 0) return { file, keyPath };
  const before = text.slice(0, found).split('\n');
  return { file, line: before.length, column: before[before.length - 1]!.length + 1, keyPath };
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.trim();
}
