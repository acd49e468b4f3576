/**
 * Data → validated config, or every problem with its place. The one validation path for both kinds of config, so
 * the primary (on the host) and the secondary (on the host and the device) read the same.
 */
import type { ZodType } from 'zod';
import { toProblems, type Problem } from './issues.ts';
import type { ConfigLocation, LocatedProblem } from './location.ts';

export type Validated<T> = { ok: true; value: T } | { ok: false; problems: LocatedProblem[] };

/**
 * Validates `data` against `schema`; `locate` places each problem (in YAML or in source text), `reword` may replace a
 * problem's message (e.g. a key only the primary config may set).
 */
export function validateData<T>(
  schema: ZodType<T>,
  data: unknown,
  locate: (problem: Problem) => ConfigLocation,
  reword: (problem: Problem) => Problem = (problem) => problem,
): Validated<T> {
  const result = schema.safeParse(data, { reportInput: true });
  if (result.success) return { ok: true, value: result.data };
  // A misspelt key also shows up as a missing one: report the spelling first, it is the cause.
  const problems = toProblems(result.error.issues, (path) => knownKeysAt(schema, path))
    .map(reword)
    .sort((a, b) => Number(!a.key) - Number(!b.key));
  return { ok: false, problems: problems.map((problem) => ({ location: locate(problem), message: problem.message })) };
}

interface ZodDef {
  type: string;
  innerType?: ZodType;
  in?: ZodType;
  element?: ZodType;
  shape?: Record<string, ZodType>;
}

const defOf = (schema: ZodType): ZodDef => (schema as unknown as { _zod: { def: ZodDef } })._zod.def;

/** Keys an object schema accepts at `path`, for "did you mean" and "expected one of". */
export function knownKeysAt(schema: ZodType, path: readonly PropertyKey[]): string[] {
  let s: ZodType = schema;
  for (const part of [...path, null]) {
    // unwrap defaults, optionals, pipes and refinements down to the shape
    for (;;) {
      const def = defOf(s);
      if (def.innerType) s = def.innerType;
      else if (def.type === 'pipe' && def.in) s = def.in;
      else break;
    }
    const def = defOf(s);
    if (part === null) return def.shape ? Object.keys(def.shape) : [];
    if (typeof part === 'number' && def.element) s = def.element;
    else if (def.shape && typeof part === 'string' && def.shape[part]) s = def.shape[part]!;
    else return [];
  }
  return [];
}
