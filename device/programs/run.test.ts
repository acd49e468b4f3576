/**
 * The launcher (run.js) on the host, with the device's own Node 26 from kiln's cache (found through the example's
 * kiln.lock): compile on first run, the cache on later runs, concurrent first runs, edits, and load errors.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { programStub } from '../contract/programs/stub.ts';

const root = path.resolve(import.meta.dirname, '../..');
const launcher = path.join(import.meta.dirname, 'run.js');

/** The device's Node: the x86_64 node input pinned in examples/kiln.lock, unpacked in kiln's cache. */
function deviceNode(): string | undefined {
  const lock = JSON.parse(readFileSync(path.join(root, 'examples/kiln.lock'), 'utf8')) as { inputs: Record<string, { sha256: string }> };
  const sha = lock.inputs['x86_64/node']?.sha256;
  const cache = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'kiln');
  const node = sha === undefined ? undefined : path.join(cache, 'trees', sha, 'bin', 'node');
  return node !== undefined && existsSync(node) ? node : undefined;
}
const node = deviceNode();

let work: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'kiln-run-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(stub: string, cache: string, args: string[] = [], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(node!, [launcher, stub, ...args], { env: { ...process.env, KILN_COMPILE_CACHE: cache, KILN_RUN_TRACE: '1', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A program folder with a local module and a (CommonJS) dependency in node_modules, and its stub. */
async function program(name: string, files: Record<string, string> = {}): Promise<{ dir: string; stub: string }> {
  const dir = path.join(work, name);
  const all: Record<string, string> = {
    'package.json': JSON.stringify({ name, type: 'module', main: 'main.ts', dependencies: { 'tiny-dep': '1.0.0' } }),
    'main.ts':
      "import shout from 'tiny-dep';\nimport { who } from './who.ts';\nconst n: number = 2;\nconsole.log(shout(`hello ${who()} ${n}`), JSON.stringify(process.argv.slice(1)));\n",
    'who.ts': "export function who(): string {\n  return 'world';\n}\n",
    'node_modules/tiny-dep/package.json': JSON.stringify({ name: 'tiny-dep', version: '1.0.0', main: 'index.js' }),
    'node_modules/tiny-dep/index.js': 'module.exports = (s) => s.toUpperCase();\n',
    ...files,
  };
  for (const [rel, text] of Object.entries(all)) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), text);
  }
  const stub = path.join(work, 'bin', name);
  await mkdir(path.dirname(stub), { recursive: true });
  await writeFile(stub, programStub({ program: name, entry: path.join(dir, 'main.ts') }), { mode: 0o755 });
  return { dir, stub };
}

describe.skipIf(node === undefined)('run.js with the device Node (26) on the host', () => {
  it('compiles on the first run, then loads everything from the compile cache', async () => {
    const { dir, stub } = await program('first');
    const cache = path.join(work, 'cache-first');
    const one = await run(stub, cache, ['a', 'b']);
    expect(one.stdout).toBe(`HELLO WORLD 2 ${JSON.stringify([path.join(dir, 'main.ts'), 'a', 'b'])}\n`);
    expect(one.stderr).toMatch(/^kiln-run: first: loaded in \d+ ms, compiled \(\d+ cache entries written\)\n$/);
    expect(one.code).toBe(0);
    const two = await run(stub, cache, ['a', 'b']);
    expect(two.stdout).toBe(one.stdout);
    expect(two.stderr).toMatch(/^kiln-run: first: loaded in \d+ ms, all from the compile cache\n$/);
  });

  it('lets two (and four) first runs race without corrupting the cache', async () => {
    const { stub } = await program('race');
    for (const n of [2, 4]) {
      const cache = path.join(work, `cache-race-${n}`);
      const runs = await Promise.all(Array.from({ length: n }, () => run(stub, cache)));
      for (const r of runs) {
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/^HELLO WORLD 2 /);
      }
      // Every cache file whole (Node checks each entry's hash): the next run takes all of them.
      const after = await run(stub, cache);
      expect(after.stderr).toMatch(/all from the compile cache/);
      const [versioned] = await readdir(cache);
      const files = await readdir(path.join(cache, versioned!));
      expect(files.filter((f) => f.includes('.'))).toEqual([]); // no temporary file left behind
    }
  });

  it('picks up an edited file on the next run, even with the same size and modification time', async () => {
    const { dir, stub } = await program('edit');
    const cache = path.join(work, 'cache-edit');
    expect((await run(stub, cache)).stdout).toMatch(/^HELLO WORLD 2/);
    const who = path.join(dir, 'who.ts');
    const before = await stat(who);
    await writeFile(who, "export function who(): string {\n  return 'earth';\n}\n");
    await utimes(who, before.atime, before.mtime);
    expect((await stat(who)).size).toBe(before.size);
    const r = await run(stub, cache);
    expect(r.stdout).toMatch(/^HELLO EARTH 2/);
    expect(r.stderr).toMatch(/compiled \(\d+ cache entries written\)/);
  });

  it('names file, line and column of a type-stripping error, runs nothing and exits 1', async () => {
    const { dir, stub } = await program('syntax', {
      'main.ts': "console.log('side effect');\nimport { who } from './who.ts';\nconsole.log(who());\n",
      'who.ts': "export function who(): string {\n  return ['a', 'b'].join(',' ;\n}\n",
    });
    const r = await run(stub, path.join(work, 'cache-syntax'));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `syntax: ${path.join(dir, 'who.ts')}:2:30: syntax error: Expected ',', got ';'\n  return ['a', 'b'].join(',' ;\n                             ^\n`,
    );
  });

  it('says when TypeScript needs more than erasing types', async () => {
    const { dir, stub } = await program('enum', { 'who.ts': 'enum Who { World }\nexport function who(): string {\n  return String(Who.World);\n}\n' });
    const r = await run(stub, path.join(work, 'cache-enum'));
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toBe(
      `enum: ${path.join(dir, 'who.ts')}:1:1: unsupported TypeScript (type stripping only erases types): TypeScript enum is not supported in strip-only mode`,
    );
  });

  it("finds the position of V8's own syntax errors too", async () => {
    const { dir, stub } = await program('v8error', { 'who.ts': "export function who(): string {\n  let a: string = 'x';\n  let a = 'y';\n  return a;\n}\n" });
    const r = await run(stub, path.join(work, 'cache-v8'));
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toBe(`v8error: ${path.join(dir, 'who.ts')}:3:7: syntax error: Identifier 'a' has already been declared`);
  });

  it('points at an import that does not resolve', async () => {
    const { dir, stub } = await program('missing', { 'main.ts': "import { who } from './whom.ts';\nconsole.log(who());\n" });
    const r = await run(stub, path.join(work, 'cache-missing'));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `missing: ${path.join(dir, 'main.ts')}:1:22: cannot resolve import: Cannot find module '${path.join(dir, 'whom.ts')}' imported from ${path.join(dir, 'main.ts')}\n`,
    );
  });

  it('leaves errors thrown by the running program to Node', async () => {
    const { stub } = await program('throws', { 'main.ts': "console.log('ran');\nthrow new SyntaxError('made at run time');\n" });
    const r = await run(stub, path.join(work, 'cache-throws'));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('ran\n');
    expect(r.stderr).toContain('SyntaxError: made at run time');
    expect(r.stderr).not.toMatch(/syntax error:/);
  });

  it('refuses a file that is not a stub', async () => {
    const bad = path.join(work, 'not-a-stub');
    await writeFile(bad, '#!/bin/sh\necho hi\n');
    const r = await run(bad, path.join(work, 'cache-bad'));
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`kiln: ${bad}: not a kiln program stub (no program= or entry= line)\n`);
  });
});
