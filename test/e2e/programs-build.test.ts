/**
 * `programs:` at build time through the CLI: a good program is shipped and its npm dependencies pinned in kiln.lock
 * (a change of them is detected), and bad input stops the build with one line naming the program and what to fix,
 * writing nothing. Uses the warm input cache; the dependency tests ask the npm registry (your npm configuration).
 */
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { kiln } from '../helpers/cli.js';

const root = path.resolve(import.meta.dirname, '../..');
let work: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'kiln-programs-build-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A config folder with the example's kiln.lock and the given files (paths relative to it). */
async function project(name: string, files: Record<string, string>): Promise<string> {
  const dir = path.join(work, name);
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), text);
  }
  await copyFile(path.join(root, 'examples/kiln.lock'), path.join(dir, 'kiln.lock'));
  return path.join(dir, 'kiln.yml');
}

const pkg = (extra: object = {}) => JSON.stringify({ name: 'app', version: '1.2.3', type: 'module', main: 'main.ts', ...extra });

function oneErrorLine(stderr: string): string {
  const errors = stderr.split('\n').filter((l) => l.startsWith('kiln: error: '));
  expect(errors).toHaveLength(1);
  return errors[0]!;
}

async function buildFails(file: string): Promise<string> {
  const out = path.join(path.dirname(file), 'out');
  const r = await kiln(['build', file, '--out', out, '--profile', 'fast']);
  expect(r.code).toBe(1);
  await expect(readFile(path.join(out, 'BOOTX64.EFI'))).rejects.toThrow(/ENOENT/);
  return oneErrorLine(r.stderr);
}

describe('programs at build time', () => {
  test('ships the program, its stub and dependencies; pins them in kiln.lock; detects a change', async () => {
    const file = await project('good', {
      'kiln.yml': 'name: good\nprograms:\n  - name: app\n    source: app\n    service: { restart: on-failure }\n',
      'app/package.json': pkg({ dependencies: { ms: '2.1.3' } }),
      'app/main.ts': "import ms from 'ms';\nimport { x } from './lib/x.ts';\nconsole.log(ms(1000), x);\n",
      'app/lib/x.ts': 'export const x: number = 1;\n',
      'app/node_modules/left-over/index.js': 'a local install the build must not ship\n',
    });
    const out = path.join(path.dirname(file), 'out');
    const r = await kiln(['build', file, '--out', out, '--profile', 'fast', '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('kiln: kiln.lock: pinned programs/app dependencies (ms 2.1.3)');
    const lock = JSON.parse(await readFile(path.join(path.dirname(file), 'kiln.lock'), 'utf8'));
    expect(lock.inputs['programs/app']).toMatchObject({
      type: 'program',
      name: 'app',
      version: '1.2.3',
      request: '{"ms":"2.1.3"}',
      packages: { 'node_modules/ms': { version: '2.1.3' } },
    });
    expect(lock.inputs['programs/app'].sha256).toMatch(/^[0-9a-f]{64}$/);

    // The kiln layer (the last cpio archive) holds /src/app with its dependency, the stubs and boot.json's programs.
    const result = JSON.parse(r.stdout);
    expect(result.parts).toHaveProperty(['programs (1, source)']);
    const again = await kiln(['build', file, '--out', out, '--profile', 'fast', '--json']);
    expect(again.code).toBe(0);
    expect(again.stderr).not.toContain('pinned programs/app'); // pinned and cached: no npm this time

    await writeFile(path.join(path.dirname(file), 'app/package.json'), pkg({ dependencies: { ms: '2.1.2' } }));
    const changed = await kiln(['build', file, '--out', out, '--profile', 'fast']);
    expect(changed.code).toBe(0);
    expect(changed.stderr).toMatch(/kiln: kiln\.lock: pinned programs\/app dependencies \(ms 2\.1\.2\) — changed from [0-9a-f]{12}…/);
  }, 180_000);

  test("the image has /src/<name>, its node_modules, /usr/bin stubs for it and kiln's tools", async () => {
    const { preparePrograms } = await import('../../src/programs/prepare.js');
    const { Cache, cacheRoot } = await import('../../src/inputs/cache.js');
    const { silentReporter } = await import('../../src/util/report.js');
    const file = await project('tree', {
      'app/package.json': pkg({ dependencies: { ms: '2.1.3' } }),
      'app/main.ts': "import ms from 'ms';\nimport { x } from './lib/x.ts';\nconsole.log(ms(1000), x);\n",
      'app/lib/x.ts': 'export const x: number = 1;\n',
      'app/node_modules/left-over/index.js': 'a local install the build must not ship\n',
      'app/.git/HEAD': 'ref: refs/heads/main\n',
    });
    const prepared = await preparePrograms({
      programs: [
        {
          name: 'app',
          source: 'app',
          args: ['--x'],
          env: { A: 'b' },
          service: { restart: 'on-failure', backoff: { initialMs: 1000, maxMs: 60_000, resetAfterMs: 10_000 } },
        },
      ],
      configDir: path.dirname(file),
      configName: 'kiln.yml',
      cache: new Cache(cacheRoot()),
      reporter: silentReporter,
    });
    const paths = prepared.entries.map((e) => e.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/src/app/main.ts',
        '/src/app/lib/x.ts',
        '/src/app/package.json',
        '/src/app/node_modules/ms/index.js',
        '/usr/bin/app',
        '/usr/bin/kiln-status',
        '/usr/bin/kiln-reload',
      ]),
    );
    expect(paths.some((p) => p.includes('left-over') || p.includes('.git'))).toBe(false);
    const stub = prepared.entries.find((e) => e.path === '/usr/bin/app');
    expect(stub).toMatchObject({ type: 'file', mode: 0o755 });
    expect(Buffer.from((stub as { data: Uint8Array }).data).toString()).toMatch(
      /^#!\/usr\/bin\/node \/usr\/lib\/kiln\/device\/programs\/run\.js\n[^]*entry=\/src\/app\/main\.ts\n$/,
    );
    expect(prepared.boot).toEqual([
      {
        name: 'app',
        command: '/usr/bin/app',
        args: ['--x'],
        env: { A: 'b' },
        service: { restart: 'on-failure', backoff: { initialMs: 1000, maxMs: 60_000, resetAfterMs: 10_000 } },
      },
    ]);
  }, 60_000);
});

test('examples/programs.yml is a valid config', async () => {
  const r = await kiln(['config', 'check', 'examples/programs.yml']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
});

describe('bad programs stop the build with one line', () => {
  test('no entry file', async () => {
    const file = await project('no-entry', {
      'kiln.yml': 'name: x\nprograms:\n  - { name: app, source: app }\n',
      'app/package.json': pkg({ main: 'src/main.ts' }),
    });
    expect(await buildFails(file)).toMatch(
      /^kiln: error: .*kiln\.yml: programs\[0\] \(app\): no entry file: app\/src\/main\.ts does not exist \(package\.json "main"\)$/,
    );
  }, 60_000);

  test('no source folder, or no package.json', async () => {
    const none = await project('no-folder', { 'kiln.yml': 'name: x\nprograms:\n  - { name: app, source: nowhere }\n' });
    expect(await buildFails(none)).toMatch(/programs\[0\] \(app\): source folder nowhere does not exist \(paths are relative to the config file\)$/);
    const nopkg = await project('no-package', { 'kiln.yml': 'name: x\nprograms:\n  - { name: app, source: app }\n', 'app/index.ts': '' });
    expect(await buildFails(nopkg)).toMatch(/programs\[0\] \(app\): no package\.json in .*\/no-package\/app$/);
  }, 60_000);

  test('a dependency that does not resolve', async () => {
    const file = await project('bad-dep', {
      'kiln.yml': 'name: x\nprograms:\n  - { name: app, source: app }\n',
      'app/package.json': pkg({ dependencies: { 'kiln-test-no-such-package-7f3a': '^1.0.0' } }),
      'app/main.ts': '',
    });
    expect(await buildFails(file)).toMatch(
      /^kiln: error: .*kiln\.yml: programs\[0\] \(app\): dependency "kiln-test-no-such-package-7f3a@\^1\.0\.0" does not resolve \(no such package\); fix "dependencies" in .*\/bad-dep\/app\/package\.json$/,
    );
  }, 120_000);

  test('an import of a package that is not a dependency, with file:line:col', async () => {
    const file = await project('undeclared', {
      'kiln.yml': 'name: x\nprograms:\n  - { name: app, source: app }\n',
      'app/package.json': pkg(),
      'app/main.ts': "// colours\nimport pc from 'picocolors';\n",
      'app/main.test.ts': "import { test } from 'vitest';\n", // a devDependency in a test file is fine
    });
    expect(await buildFails(file)).toMatch(
      /programs\[0\] \(app\): app\/main\.ts:2:17: imports "picocolors", which is not in package\.json's dependencies; add it \(npm install picocolors\)$/,
    );
  }, 60_000);

  test('a name that collides with a system command, or is no command name', async () => {
    const clash = await project('clash', { 'kiln.yml': 'name: x\nprograms:\n  - name: node\n    source: app\n' });
    expect(await buildFails(clash)).toBe(
      `kiln: error: ${clash}:3:11: programs[0].name: "node" collides with a system command on the device; choose another name`,
    );
    const bad = await project('badname', { 'kiln.yml': 'name: x\nprograms:\n  - name: ../evil\n    source: app\n' });
    expect(await buildFails(bad)).toMatch(/^kiln: error: .*kiln\.yml:3:11: programs\[0\]\.name: expected a command name: .*found "\.\.\/evil"$/);
  }, 60_000);

  test('a file target that would replace a program', async () => {
    const file = await project('target', {
      'kiln.yml': 'name: x\nfiles:\n  - { source: motd, target: /usr/bin/app }\nprograms:\n  - { name: app, source: app }\n',
      motd: 'hi\n',
      'app/package.json': pkg(),
      'app/main.ts': '',
    });
    expect(await buildFails(file)).toMatch(/files\[0\]\.target: \/usr\/bin\/app would replace program app's command$/);
  }, 60_000);
});
