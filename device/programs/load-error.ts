/**
 * A program that does not load — a syntax or type-stripping error, an import that does not resolve — is reported as
 * one `file:line:col: message` line (and the offending source line with a caret), like a compiler would, instead of
 * a stack through Node's module loader. Only loaded by run.js on that error path.
 *
 * Where the position comes from:
 * - type stripping (amaro): Node puts `file:///path:LINE`, the source lines and a caret line at the top of the
 *   error's stack; the column is the caret's.
 * - an unresolved import: Node names the importing file and the target; the line is found by searching the
 *   importing file for the specifier.
 * - V8's own parse errors (a redeclared `let`, ...): Node keeps their position where JavaScript cannot read it, so
 *   the program's files are checked one at a time, newest first (the likeliest culprit), with `node --check` on a
 *   type-stripped copy, whose output carries the position (stripping keeps every line and column in place).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import module from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface SourcePosition {
  file: string;
  line: number;
  column: number;
  /** The source line and a caret under the column, when known. */
  excerpt?: string;
}

/** `file:///src/x/a.ts:12` or `/src/x/a.ts:12` on the first line, then source lines and a line of carets. */
export function positionFromDecoratedStack(stack: string): SourcePosition | undefined {
  const lines = stack.split('\n');
  const header = /^(file:\/\/\/?.+|\/.+):(\d+)$/.exec(lines[0] ?? '');
  if (!header) return undefined;
  const file = header[1]!.startsWith('file:') ? fileURLToPath(header[1]!) : header[1]!;
  const line = Number(header[2]);
  // Node prints the context lines, then the caret line under the offending one; a blank line ends the excerpt.
  for (let i = 1; i < lines.length && lines[i] !== ''; i++) {
    if (/^\s*\^+\s*$/.test(lines[i]!) && i > 1) {
      const column = lines[i]!.indexOf('^') + 1;
      return { file, line, column, excerpt: `${lines[i - 1]}\n${lines[i]!.trimEnd()}` };
    }
  }
  return { file, line, column: 1 };
}

/** Where `specifier` is written in `source` (1-based), searched as a quoted string. */
export function findSpecifier(source: string, specifiers: readonly string[]): { line: number; column: number } | undefined {
  const lines = source.split('\n');
  for (const specifier of specifiers) {
    for (let i = 0; i < lines.length; i++) {
      for (const quote of ["'", '"']) {
        const at = lines[i]!.indexOf(`${quote}${specifier}${quote}`);
        if (at >= 0) return { line: i + 1, column: at + 2 };
      }
    }
  }
  return undefined;
}

export function formatPosition(p: SourcePosition, message: string): string {
  const head = `${p.file}:${p.line}:${p.column}: ${message}`;
  return p.excerpt === undefined ? head : `${head}\n${p.excerpt}`;
}

/** What Node says an unresolved import was: "Cannot find module '/src/x/util.ts' imported from /src/x/main.ts". */
function unresolvedImport(message: string): { target: string; importer: string } | undefined {
  const m = /Cannot find (?:module|package) '([^']+)' imported from (.+)$/m.exec(message);
  if (!m) return undefined;
  const importer = m[2]!.startsWith('file:') ? fileURLToPath(m[2]!) : m[2]!;
  return { target: m[1]!, importer };
}

function firstLine(message: string): string {
  return message.split('\n')[0]!;
}

export interface LoadErrorContext {
  entry: string;
  /** `node --check` on one file: its stderr, or undefined when the file is fine. Injected by tests. */
  check?: (file: string) => string | undefined;
  readText?: (file: string) => string;
}

export function describeLoadError(error: unknown, context: LoadErrorContext): string {
  const readText = context.readText ?? ((file: string) => fs.readFileSync(file, 'utf8'));
  const err = error as Error & { code?: string };
  const message = firstLine(err.message);
  const kind = err.code === 'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX' ? 'unsupported TypeScript (type stripping only erases types)' : 'syntax error';

  if (err.code === 'ERR_MODULE_NOT_FOUND') {
    const missing = unresolvedImport(err.message);
    if (missing) {
      const relative = path.relative(path.dirname(missing.importer), missing.target);
      const candidates = missing.target.startsWith('/') ? [`./${relative}`, relative, missing.target] : [missing.target];
      try {
        const at = findSpecifier(readText(missing.importer), candidates);
        if (at) return formatPosition({ file: missing.importer, ...at }, `cannot resolve import: ${message}`);
      } catch {
        // The importer is unreadable: fall through to Node's own words.
      }
    }
    return `cannot resolve import: ${message}`;
  }

  const decorated = positionFromDecoratedStack(err.stack ?? '');
  if (decorated) return formatPosition(decorated, `${kind}: ${message}`);

  if (err instanceof SyntaxError) {
    const found = findV8SyntaxError(context.entry, context.check ?? checkWithNode);
    if (found) return formatPosition(found, `${kind}: ${message}`);
  }
  return `${kind}: ${message} (in ${context.entry} or a module it imports)`;
}

/** The program's own source files (not node_modules), newest first. */
export function programFiles(entry: string): string[] {
  let root = path.dirname(entry);
  while (!fs.existsSync(path.join(root, 'package.json'))) {
    if (path.dirname(root) === root) return []; // no package folder: never walk a whole filesystem
    root = path.dirname(root);
  }
  const files = fs
    .readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((rel) => /\.(m|c)?[jt]s$/.test(rel) && !rel.split(path.sep).includes('node_modules'))
    .map((rel) => path.join(root, rel));
  const mtime = (file: string) => fs.statSync(file).mtimeMs;
  return files.sort((a, b) => mtime(b) - mtime(a));
}

function findV8SyntaxError(entry: string, check: (file: string) => string | undefined): SourcePosition | undefined {
  let files: string[];
  try {
    files = programFiles(entry);
  } catch {
    return undefined;
  }
  for (const file of files) {
    const output = check(file);
    if (output === undefined) continue;
    const p = positionFromDecoratedStack(output.trimStart());
    if (p) return { ...p, file };
  }
  return undefined;
}

/** `node --check` reads JavaScript only, so TypeScript is stripped first into a scratch .mjs (same positions). */
function checkWithNode(file: string): string | undefined {
  let code = fs.readFileSync(file, 'utf8');
  if (/\.(m|c)?ts$/.test(file)) {
    try {
      process.removeAllListeners('warning'); // stripTypeScriptTypes is "experimental": no warning on this path
      code = module.stripTypeScriptTypes(code);
    } catch {
      return undefined; // a stripping error would have been reported by Node with its position
    }
  }
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-check-'));
  try {
    const copy = path.join(scratch, 'check.mjs');
    fs.writeFileSync(copy, code);
    const r = spawnSync(process.execPath, ['--check', copy], { encoding: 'utf8' });
    return r.status === 0 ? undefined : r.stderr;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
