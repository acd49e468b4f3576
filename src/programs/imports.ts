/**
 * A build-time look at a program's static imports, so an import that cannot resolve on the device is an error on
 * the host — `greet: main.ts:2:20: imports "picocolors", which is not in package.json's dependencies` — rather than
 * a failed first run on the device. The device's Node is the judge of syntax; this only reads the lines that
 * start an import or export statement (or end a multi-line one with `} from '…'`), which is where specifiers are
 * in practice; `import type` lines are skipped (they are erased before running), dynamic `import()` too (it may be
 * guarded on purpose).
 */
import { builtinModules } from 'node:module';
import path from 'node:path';

export interface ImportSite {
  specifier: string;
  /** 1-based line and column of the specifier's first character. */
  line: number;
  column: number;
}

const STATEMENT = /^\s*(?:import|export)\s+(?!type\s)(?:[^'"`]*?\sfrom\s*)?(['"])([^'"\n]+)\1/;
const CLOSING = /^\s*\}\s*from\s*(['"])([^'"\n]+)\1/;

export function staticImports(source: string): ImportSite[] {
  const sites: ImportSite[] = [];
  source.split('\n').forEach((text, i) => {
    const m = STATEMENT.exec(text) ?? CLOSING.exec(text);
    if (!m) return;
    // The specifier is the last quoted string of the match.
    const column = m.index + m[0].length - m[2]!.length;
    sites.push({ specifier: m[2]!, line: i + 1, column });
  });
  return sites;
}

/** "lodash/fp" → "lodash", "@scope/pkg/sub" → "@scope/pkg". */
export function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

export function isBuiltin(specifier: string): boolean {
  return specifier.startsWith('node:') || builtinModules.includes(specifier) || builtinModules.includes(packageName(specifier));
}

export interface ImportCheck {
  /** The file's path relative to the program folder, for messages. */
  file: string;
  /** Absolute path of the importing file. */
  abs: string;
  /** Does this host path exist as a file / a folder? */
  isFile(p: string): boolean;
  isDir(p: string): boolean;
  /** Package names the program may import: its installed dependencies and its own name. */
  packages: ReadonlySet<string>;
}

/** The first import of `sites` that cannot resolve, as a message with its position; undefined when all do. */
export function unresolvedImport(sites: readonly ImportSite[], c: ImportCheck): string | undefined {
  for (const site of sites) {
    const at = `${c.file}:${site.line}:${site.column}`;
    const spec = site.specifier;
    if (spec.startsWith('#') || (/^[a-z][a-z0-9+.-]*:/.test(spec) && !spec.startsWith('node:'))) continue; // subpath imports, URLs
    if (spec.startsWith('.') || spec.startsWith('/')) {
      const target = path.resolve(path.dirname(c.abs), spec);
      if (c.isFile(target)) continue;
      const guess = ['.ts', '.js', '.mts', '.mjs'].map((ext) => target + ext).find((p) => c.isFile(p));
      if (guess !== undefined) return `${at}: imports "${spec}": Node needs the file's extension, write "${spec}${path.extname(guess)}"`;
      if (c.isDir(target)) return `${at}: imports the folder "${spec}": import its file, like "${spec}/index.ts"`;
      return `${at}: imports "${spec}", which does not exist`;
    }
    if (isBuiltin(spec)) continue;
    if (!c.packages.has(packageName(spec))) {
      return `${at}: imports "${spec}", which is not in package.json's dependencies; add it (npm install ${packageName(spec)})`;
    }
  }
  return undefined;
}
