/**
 * Turns zod issues into the sentences kiln prints: "expected X, found Y", with a
 * "did you mean" for misspelt keys. Kept apart from file positions (see yaml-source.ts). Shared by host and device.
 */
import type { core } from 'zod';

export interface Problem {
  path: PropertyKey[];
  /** Set for unknown keys: the path points at the object, `key` names the bad key. */
  key?: string;
  message: string;
}

export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return `${typeof value} ${String(value)}`;
}

function typeName(expected: string): string {
  switch (expected) {
    case 'object':
      return 'a mapping';
    case 'array':
      return 'a list';
    default:
      return `a ${expected}`;
  }
}

/** Edit distance, for suggesting the key the user probably meant. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

export function suggest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const k of known) {
    const d = distance(key.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

export function toProblems(issues: readonly core.$ZodIssue[], knownKeysAt: (path: PropertyKey[]) => string[]): Problem[] {
  const out: Problem[] = [];
  for (const issue of issues) {
    const path = issue.path as PropertyKey[];
    const input = (issue as { input?: unknown }).input;
    switch (issue.code) {
      case 'unrecognized_keys':
        for (const key of issue.keys) {
          const known = knownKeysAt(path);
          const hint = suggest(key, known);
          out.push({
            path,
            key,
            message: `unknown key "${key}"${hint ? ` (did you mean "${hint}"?)` : ''}; expected one of ${known.map((k) => `"${k}"`).join(', ')}`,
          });
        }
        break;
      case 'invalid_type':
        out.push({
          path,
          message:
            input === undefined ? `missing; expected ${typeName(issue.expected)}` : `expected ${typeName(issue.expected)}, found ${describeValue(input)}`,
        });
        break;
      case 'invalid_value':
        out.push({ path, message: `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, found ${describeValue(input)}` });
        break;
      case 'too_small':
      case 'too_big': {
        const bound = issue.code === 'too_small' ? `at least ${issue.minimum}` : `at most ${issue.maximum}`;
        const what = issue.origin === 'string' ? `${bound} characters` : issue.origin === 'array' ? `${bound} items` : bound;
        out.push({ path, message: `expected ${what}, found ${describeValue(input)}` });
        break;
      }
      case 'invalid_format':
        out.push({ path, message: `${issue.message.startsWith('expected') ? issue.message : `expected ${issue.format}`}, found ${describeValue(input)}` });
        break;
      case 'invalid_union': {
        // "One of these shapes" (an architecture or a list of them): report the alternative that matched furthest.
        const branch = closestAlternative(issue.errors);
        if (branch === undefined) out.push({ path, message: issue.message });
        else
          out.push(
            ...toProblems(
              branch.map((i) => ({ ...i, path: [...path, ...i.path] })),
              knownKeysAt,
            ),
          );
        break;
      }
      default:
        out.push({ path, message: issue.message });
    }
  }
  return out;
}

/** The union alternative whose issues reach deepest into the input; on a tie, the first that is not a type mismatch. */
function closestAlternative(alternatives: readonly (readonly core.$ZodIssue[])[]): readonly core.$ZodIssue[] | undefined {
  const depth = (issues: readonly core.$ZodIssue[]) => Math.max(...issues.map((i) => i.path.length));
  let best: readonly core.$ZodIssue[] | undefined;
  for (const issues of alternatives.filter((a) => a.length > 0)) {
    if (
      best === undefined ||
      depth(issues) > depth(best) ||
      (depth(issues) === depth(best) && best[0]!.code === 'invalid_type' && issues[0]!.code !== 'invalid_type')
    )
      best = issues;
  }
  return best;
}
