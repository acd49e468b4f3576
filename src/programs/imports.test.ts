import { describe, expect, it } from 'vitest';
import { packageName, staticImports, unresolvedImport, type ImportCheck } from './imports.js';

const SOURCE = [
  "import ms from 'ms';", // 1
  'import { a, type B } from "./a.ts";', // 2
  "import type { C } from './types-only.ts';", // 3
  "import './side-effect.js';", // 4
  'import {', // 5
  '  d,', // 6
  "} from '@scope/pkg/sub';", // 7
  "export { e } from './e.ts';", // 8
  "export const f = 'from ./not-an-import.ts';", // 9
  "const g = await import('./dynamic.ts');", // 10
  "import fs from 'node:fs';", // 11
].join('\n');

describe('staticImports', () => {
  it('finds the specifiers of import and export statements with their positions', () => {
    expect(staticImports(SOURCE)).toEqual([
      { specifier: 'ms', line: 1, column: 17 },
      { specifier: './a.ts', line: 2, column: 28 },
      { specifier: './side-effect.js', line: 4, column: 9 },
      { specifier: '@scope/pkg/sub', line: 7, column: 9 },
      { specifier: './e.ts', line: 8, column: 20 },
      { specifier: 'node:fs', line: 11, column: 17 },
    ]);
  });

  it('knows package names', () => {
    expect(['lodash/fp', '@scope/pkg/sub', 'ms'].map(packageName)).toEqual(['lodash', '@scope/pkg', 'ms']);
  });
});

describe('unresolvedImport', () => {
  const files = new Set(['/p/main.ts', '/p/a.ts', '/p/util.ts']);
  const check = (packages: string[]): ImportCheck => ({
    file: 'greet/main.ts',
    abs: '/p/main.ts',
    isFile: (f) => files.has(f),
    isDir: (f) => f === '/p/lib',
    packages: new Set(packages),
  });
  const site = (specifier: string) => [{ specifier, line: 2, column: 20 }];

  it('accepts existing files, installed packages and built-ins', () => {
    expect(
      unresolvedImport([...site('./a.ts'), ...site('ms/index.js'), ...site('node:fs'), ...site('path'), ...site('#internal')], check(['ms'])),
    ).toBeUndefined();
  });

  it('names the file, line and column of what does not resolve, and the fix', () => {
    expect(unresolvedImport(site('picocolors'), check(['ms']))).toBe(
      'greet/main.ts:2:20: imports "picocolors", which is not in package.json\'s dependencies; add it (npm install picocolors)',
    );
    expect(unresolvedImport(site('./b.ts'), check([]))).toBe('greet/main.ts:2:20: imports "./b.ts", which does not exist');
    expect(unresolvedImport(site('./util'), check([]))).toBe('greet/main.ts:2:20: imports "./util": Node needs the file\'s extension, write "./util.ts"');
    expect(unresolvedImport(site('./lib'), check([]))).toBe('greet/main.ts:2:20: imports the folder "./lib": import its file, like "./lib/index.ts"');
  });
});
