import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeLoadError, findSpecifier, positionFromDecoratedStack, programFiles } from './load-error.ts';

// What Node 26 puts at the top of a type-stripping error's stack (copied from a real run).
const STRIP_STACK = [
  'file:///src/greet/lib.ts:2',
  'export const x: number = 1;',
  'export function f(a: number {',
  '                            ^',
  '  return a;',
  '',
  "SyntaxError [ERR_INVALID_TYPESCRIPT_SYNTAX]: Expected ',', got '{'",
  '    at parseTypeScript (node:internal/modules/typescript:61:36)',
].join('\n');

// What `node --check` prints for V8's own errors (a path, not a URL).
const CHECK_OUTPUT = ['/tmp/kiln-check-x/check.mjs:3', "  let a = 'y';", '      ^', '', "SyntaxError: Identifier 'a' has already been declared"].join('\n');

describe('positions of load errors', () => {
  it('reads file, line and the caret column from a decorated stack', () => {
    expect(positionFromDecoratedStack(STRIP_STACK)).toEqual({
      file: '/src/greet/lib.ts',
      line: 2,
      column: 29,
      excerpt: 'export function f(a: number {\n                            ^',
    });
    expect(positionFromDecoratedStack(CHECK_OUTPUT)).toMatchObject({ file: '/tmp/kiln-check-x/check.mjs', line: 3, column: 7 });
  });

  it('has no position for an undecorated stack', () => {
    expect(
      positionFromDecoratedStack('SyntaxError: Unexpected token\n    at compileSourceTextModule (node:internal/modules/esm/utils:355:16)'),
    ).toBeUndefined();
  });

  it('finds a specifier as a quoted string, either quote', () => {
    const source = 'import a from \'a\';\nimport { b } from "./b.ts";\n';
    expect(findSpecifier(source, ['./b.ts'])).toEqual({ line: 2, column: 20 });
    expect(findSpecifier(source, ['./c.ts'])).toBeUndefined();
  });
});

describe('programFiles', () => {
  it("lists the program's own sources, newest first, without node_modules", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kiln-files-'));
    try {
      for (const [rel, age] of [
        ['package.json', 0],
        ['main.ts', 300],
        ['lib/a.ts', 100],
        ['lib/b.js', 200],
        ['node_modules/x/index.js', 0],
        ['README.md', 0],
      ] as const) {
        mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        writeFileSync(path.join(dir, rel), '');
        const when = new Date(Date.now() - age * 1000);
        utimesSync(path.join(dir, rel), when, when);
      }
      expect(programFiles(path.join(dir, 'main.ts')).map((f) => path.relative(dir, f))).toEqual(['lib/a.ts', 'lib/b.js', 'main.ts']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('describeLoadError', () => {
  it('formats a stripping error as file:line:col: message with the line and caret', () => {
    const error = Object.assign(new SyntaxError("Expected ',', got '{'"), { code: 'ERR_INVALID_TYPESCRIPT_SYNTAX', stack: STRIP_STACK });
    expect(describeLoadError(error, { entry: '/src/greet/main.ts' })).toBe(
      "/src/greet/lib.ts:2:29: syntax error: Expected ',', got '{'\nexport function f(a: number {\n                            ^",
    );
  });

  it('places an unresolved package import in the importing file', () => {
    const error = Object.assign(new Error("Cannot find package 'picocolors' imported from /src/greet/main.ts"), { code: 'ERR_MODULE_NOT_FOUND' });
    const readText = () => "// colours\nimport pc from 'picocolors';\n";
    expect(describeLoadError(error, { entry: '/src/greet/main.ts', readText })).toBe(
      "/src/greet/main.ts:2:17: cannot resolve import: Cannot find package 'picocolors' imported from /src/greet/main.ts",
    );
  });

  it('asks node --check, file by file, where a V8 syntax error is', () => {
    const error = new SyntaxError("Identifier 'a' has already been declared");
    error.stack = `${error.message}\n    at compileSourceTextModule (node:internal/modules/esm/utils:355:16)`;
    const checked: string[] = [];
    const entry = `${import.meta.dirname}/load-error.ts`; // a real folder: device/ (its package.json ends the walk)
    const text = describeLoadError(error, {
      entry,
      check: (file) => {
        checked.push(file);
        return file.endsWith('/backoff.ts') ? CHECK_OUTPUT : undefined;
      },
    });
    expect(text).toMatch(/\/device\/contract\/programs\/backoff\.ts:3:7: syntax error: Identifier 'a' has already been declared\n  let a = 'y';\n {6}\^$/);
    expect(checked.every((f) => !f.includes('node_modules'))).toBe(true);
  });

  it('falls back to the entry when nothing locates it', () => {
    const error = new SyntaxError('Unexpected token');
    error.stack = 'SyntaxError: Unexpected token';
    expect(describeLoadError(error, { entry: '/nonexistent/main.ts', check: () => undefined })).toBe(
      'syntax error: Unexpected token (in /nonexistent/main.ts or a module it imports)',
    );
  });
});
