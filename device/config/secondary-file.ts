/**
 * The secondary config file on the device and its last known good copy (`<path>.last-good`): which one a boot uses.
 *
 *   no file         → write the firmware's default there (first boot), use it
 *   valid file      → use it; keep a copy as the last known good
 *   invalid file    → print every problem; use the last known good copy, or the firmware's default if none
 *   unreadable, or not on a partition (nothing mounted above it) → say so; use the default
 *
 * Nothing here throws: a device never fails to boot because of its secondary config.
 */
import { stringify } from 'yaml';
import type { Log } from '../base/log.ts';
import type { DataFs } from '../sys/data-fs.ts';
import { SECONDARY_KEYS, type Secondary } from '../contract/config/secondary-schema.ts';
import { validateSecondary } from '../contract/config/validate-secondary.ts';
import { errorMessage } from '../contract/error-message.ts';

export type SecondarySource = 'file' | 'first boot' | 'last known good' | 'default';

export interface LoadedSecondary {
  secondary: Secondary;
  source: SecondarySource;
}

export interface SecondaryFileDeps {
  data: DataFs;
  log: Log;
  /** Prefix of every line this logs: "secondary" at boot, "reload" on SIGHUP. */
  tag: string;
}

export const lastGoodPath = (path: string): string => `${path}.last-good`;

/** The file written on first boot: the default, with a header saying what the file is for. */
export function defaultSecondaryText(name: string, secondary: Secondary): string {
  const header =
    `# Secondary config of ${name}: settings an operator may change without new firmware.\n` +
    `# It may set: ${SECONDARY_KEYS.join(', ')}. Check an edit on a host with \`kiln config check FILE\`;\n` +
    '# it applies at the next boot, or now with `kill -HUP 1` for what can change live.\n';
  return Object.keys(secondary).length === 0 ? header : header + stringify(secondary);
}

/** Reads and validates the file: the settings, or problems (as lines), or the read error. */
export function readSecondary(
  data: DataFs,
  path: string,
): { ok: true; secondary: Secondary; text: string } | { ok: false; problems: string[]; missing: boolean } {
  let text: string;
  try {
    text = data.readText(path);
  } catch (error) {
    const missing = (error as { code?: string }).code === 'ENOENT';
    return { ok: false, problems: [`cannot read ${path}: ${errorMessage(error)}`], missing };
  }
  const check = validateSecondary(path, text);
  return check.ok ? { ok: true, secondary: check.secondary, text } : { ok: false, problems: check.problems, missing: false };
}

/** Keeps `text` as the last known good copy, writing only when it changed (flash wears). */
export function saveLastGood(deps: SecondaryFileDeps, path: string, text: string): void {
  const copy = lastGoodPath(path);
  try {
    if (deps.data.readText(copy) === text) return;
  } catch {
    // No copy yet (or unreadable): write one.
  }
  try {
    deps.data.replaceFile(copy, text);
  } catch (error) {
    deps.log.warn(`${deps.tag}: cannot save the last known good copy ${copy}: ${errorMessage(error)}`);
  }
}

/** Problems, the last of them saying what is used instead (the format the boot log promises). */
function reportProblems(deps: SecondaryFileDeps, problems: readonly string[], instead: string, level: 'warn' | 'error'): void {
  problems.forEach((problem, i) => {
    const line = `${deps.tag}: ${problem}${i === problems.length - 1 ? `; ${instead}` : ''}`;
    if (level === 'error') deps.log.error(line);
    else deps.log.warn(line);
  });
}

/** The boot's choice, following the table at the top of this file. */
export function loadSecondary(deps: SecondaryFileDeps, path: string, name: string, fallback: Secondary, notPersistent?: string): LoadedSecondary {
  const useDefault: LoadedSecondary = { secondary: fallback, source: 'default' };
  if (notPersistent !== undefined) {
    deps.log.warn(`${deps.tag}: ${path}: ${notPersistent}; using the default from the firmware`);
    return useDefault;
  }
  const read = readSecondary(deps.data, path);
  if (read.ok) {
    saveLastGood(deps, path, read.text);
    return { secondary: read.secondary, source: 'file' };
  }
  if (read.missing) {
    try {
      deps.data.replaceFile(path, defaultSecondaryText(name, fallback));
      return { secondary: fallback, source: 'first boot' };
    } catch (error) {
      deps.log.warn(`${deps.tag}: cannot write the default to ${path}: ${errorMessage(error)}; using the default from the firmware`);
      return useDefault;
    }
  }
  const isReadError = read.problems.length === 1 && read.problems[0]!.startsWith('cannot read ');
  const copy = lastGoodPath(path);
  const good = readSecondary(deps.data, copy);
  if (good.ok) {
    reportProblems(deps, read.problems, `using the last known good copy ${copy}`, isReadError ? 'warn' : 'error');
    return { secondary: good.secondary, source: 'last known good' };
  }
  const why = good.missing ? 'no last known good copy' : `the last known good copy ${copy} is unusable too`;
  reportProblems(deps, read.problems, `using the default from the firmware (${why})`, isReadError ? 'warn' : 'error');
  return useDefault;
}
