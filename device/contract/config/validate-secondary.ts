/**
 * The one validator of a secondary config: YAML text → the settings it sets, or every problem printed exactly like
 * the primary config's (`file:line:col: key.path: expected X, found Y`). The device runs it at boot and on SIGHUP;
 * `kiln config check` runs it on the host.
 */
import type { Problem } from './issues.ts';
import { formatProblem } from './location.ts';
import { SECONDARY_KEYS, secondarySchema, type Secondary } from './secondary-schema.ts';
import { validateData } from './validate.ts';
import { locateInYaml, parseYaml } from './yaml-source.ts';

/**
 * Top-level keys of the primary config the secondary may not set (`$schema` aside: editors' business). The host's
 * tests check this list against the primary schema, so a new primary key cannot slip through with a vague message.
 */
export const PRIMARY_ONLY_KEYS = [
  'name',
  'version',
  'arch',
  'layout',
  'kernel',
  'compression',
  'debug',
  'storage',
  'secondary',
  'logs',
  'files',
  'statusPort',
  'apiPort',
  'watchdog',
  'programs',
  'containerStore',
  'signing',
] as const;

export type SecondaryCheck = { ok: true; secondary: Secondary } | { ok: false; problems: string[] };

/** `"storage" may only be set in the primary config (the secondary may set: hostname, network, time, sysctl, log)` */
export function primaryOnlyMessage(key: string): string {
  return `"${key}" may only be set in the primary config (the secondary may set: ${SECONDARY_KEYS.join(', ')})`;
}

/** Validates secondary-config YAML; `file` is how problems name it (the device passes the path on the device). */
export function validateSecondary(file: string, text: string): SecondaryCheck {
  const parsed = parseYaml(file, text);
  if (!parsed.ok) return { ok: false, problems: [formatProblem(parsed.problem)] };
  const { source } = parsed;
  const result = validateData(secondarySchema, source.data, (problem) => locateInYaml(source, problem), reword);
  if (!result.ok) return { ok: false, problems: result.problems.map(formatProblem) };
  return { ok: true, secondary: result.value };
}

function reword(problem: Problem): Problem {
  const isPrimaryKey = problem.path.length === 0 && (PRIMARY_ONLY_KEYS as readonly string[]).includes(problem.key ?? '');
  return isPrimaryKey ? { ...problem, message: primaryOnlyMessage(problem.key!) } : problem;
}
