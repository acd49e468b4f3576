/**
 * Loading a config: read → parse (YAML with positions, or a `kiln.config.ts` module) → validate against
 * the one schema → report the first problems with file:line:column and key path. Resolving (profiles,
 * per-arch defaults) is a separate step: see resolve.ts.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { LineCounter, parseDocument, isMap, isPair, isScalar, type Node, type Document } from 'yaml';
import { z } from 'zod';
import { KilnError } from '../util/errors.js';
import { configSchema, type Config } from './schema.js';
import { ConfigError, formatKeyPath, type ConfigLocation } from './errors.js';
import { toProblems, type Problem } from './issues.js';

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
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const [line, column] = yamlError.linePos?.[0] ? [yamlError.linePos[0].line, yamlError.linePos[0].col] : [undefined, undefined];
    throw new ConfigError({ file: displayName, line, column, keyPath: "" }, `invalid YAML: ${firstLine(yamlError.message).replace(/ at line \d+, column \d+:?$/, "")}`);
  }
  const data = doc.toJS() ?? {};
  return validate(data, (problem) => locateInYaml(displayName, doc, lineCounter, problem));
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
  const result = configSchema.safeParse(data, { reportInput: true });
  if (result.success) return result.data;
  // A misspelt key also shows up as a missing one: report the spelling first, it is the cause.
  const problems = toProblems(result.error.issues, (p) => knownKeysAt(configSchema, p)).sort((a, b) => Number(!a.key) - Number(!b.key));
  const [first, ...rest] = problems.map((p) => ({ location: locate(p), message: p.message }));
  const render = (x: { location: ConfigLocation; message: string }) => new ConfigError(x.location, x.message).message;
  throw new ConfigError(first!.location, first!.message, rest.map(render));
}

/** Keys an object schema accepts at `path`, for "did you mean" and "expected one of". */
function knownKeysAt(schema: z.ZodType, p: PropertyKey[]): string[] {
  let s: z.ZodType = schema;
  for (const part of [...p, null]) {
    // unwrap defaults, optionals, pipes and refinements down to the shape
    for (;;) {
      const def = (s as unknown as { _zod: { def: { innerType?: z.ZodType; in?: z.ZodType; type: string; element?: z.ZodType; shape?: Record<string, z.ZodType> } } })._zod.def;
      if (def.innerType) s = def.innerType;
      else if (def.type === 'pipe' && def.in) s = def.in;
      else break;
    }
    const def = (s as unknown as { _zod: { def: { type: string; element?: z.ZodType; shape?: Record<string, z.ZodType> } } })._zod.def;
    if (part === null) return def.shape ? Object.keys(def.shape) : [];
    if (typeof part === 'number' && def.element) s = def.element;
    else if (def.shape && typeof part === 'string' && def.shape[part]) s = def.shape[part]!;
    else return [];
  }
  return [];
}

function locateInYaml(file: string, doc: Document, lines: LineCounter, problem: Problem): ConfigLocation {
  const keyPath = formatKeyPath(problem.key ? [...problem.path, problem.key] : problem.path);
  // Walk down as far as the document goes; a missing key points at its parent mapping.
  let node: Node | null | undefined = doc.contents;
  let keyNode: Node | undefined;
  for (const part of problem.path) {
    const next: unknown = (node as { get?: (k: unknown, keep: boolean) => unknown } | null)?.get?.(part, true);
    if (!next) break;
    node = next as Node;
  }
  if (problem.key && isMap(node)) {
    const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && it.key.value === problem.key);
    if (pair && isPair(pair)) keyNode = pair.key as Node;
  }
  const offset = (keyNode ?? node)?.range?.[0];
  if (offset === undefined) return { file, keyPath };
  const { line, col } = lines.linePos(offset);
  return { file, line, column: col, keyPath };
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
