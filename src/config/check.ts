/**
 * `kiln config check`: validates either kind of config with the messages the build (primary) and the device
 * (secondary) print, and returns every problem rather than stopping at the first.
 */
import { readFile } from 'node:fs/promises';
import { parseYaml } from '../../device/contract/config/yaml-source.ts';
import { validateSecondary } from '../../device/contract/config/validate-secondary.ts';
import { KilnError } from '../util/errors.js';
import { ConfigError } from './errors.js';
import { loadConfig } from './load.js';

export type ConfigKind = 'primary' | 'secondary';

export type CheckResult = { kind: ConfigKind; ok: true; value: unknown } | { kind: ConfigKind; ok: false; problems: string[] };

/**
 * A YAML file without `name` is a secondary config (every primary config has one); a TypeScript config is always
 * a primary one. A file that is not valid YAML is checked as a primary config: both print the same parse error.
 */
export function detectKind(file: string, text: string): ConfigKind {
  if (/\.(c|m)?[jt]s$/.test(file)) return 'primary';
  const parsed = parseYaml(file, text);
  if (!parsed.ok) return 'primary';
  const data = parsed.source.data;
  const isMapping = typeof data === 'object' && data !== null && !Array.isArray(data);
  return isMapping && !('name' in data) ? 'secondary' : 'primary';
}

/** Checks `file` (absolute; also how messages name it) as `kind`, or as the kind its content says. */
export async function checkConfig(file: string, kind?: ConfigKind): Promise<CheckResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new KilnError('CONFIG_UNREADABLE', `${file}: cannot read config (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const chosen = kind ?? detectKind(file, text);
  if (chosen === 'secondary') {
    const result = validateSecondary(file, text);
    return result.ok ? { kind: chosen, ok: true, value: result.secondary } : { kind: chosen, ok: false, problems: result.problems };
  }
  try {
    return { kind: chosen, ok: true, value: (await loadConfig(file)).config };
  } catch (err) {
    if (err instanceof ConfigError) return { kind: chosen, ok: false, problems: err.problems };
    throw err;
  }
}
