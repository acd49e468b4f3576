#!/usr/bin/env node
// Prints the figures of issue 5's programs (compile on demand), measured with the device's Node 26 on this machine:
//   - first run of a ~3,000-line TypeScript program with dependencies (compile included) minus a cached run
//     (aim < 150 ms, never > 500 ms);
//   - a cached run against a plain `node -e 0` start (aim: within 10 %).
// Runs the real launcher (device/programs/run.js) through a real stub, as the device does. Needs the node input in
// kiln's cache (any x86_64 build of an example puts it there). Measures; asserts nothing.
//   node bench/programs.mjs [--rounds N]
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const roundsArg = process.argv.indexOf('--rounds');
const ROUNDS = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 20;

function deviceNode() {
  const lock = JSON.parse(readFileSync(path.join(root, 'examples/kiln.lock'), 'utf8'));
  const sha = lock.inputs['x86_64/node']?.sha256;
  const cache = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'kiln');
  const node = sha && path.join(cache, 'trees', sha, 'bin', 'node');
  if (!node || !existsSync(node)) {
    console.error(
      "bench/programs.mjs: the device Node (x86_64/node in examples/kiln.lock) is not in kiln's cache; run `npx kiln build examples/minimal.yml --out out --profile fast` first",
    );
    process.exit(2);
  }
  return node;
}

/** ~3,000 lines of ordinary TypeScript in 25 modules (classes, interfaces, generics, loops), importing two npm packages. */
function writeBigProgram(dir) {
  const MODULES = 24;
  mkdirSync(path.join(dir, 'src'), { recursive: true });
  for (let i = 0; i < MODULES; i++) {
    const L = [`import type { Options } from './types.ts';`];
    if (i + 1 < MODULES) L.push(`import { Store${i + 1} } from './store${i + 1}.ts';`);
    L.push('', `export interface Item${i} {`, '  id: number;', '  name: string;', '  tags: readonly string[];', '  weight?: number;', '}', '');
    L.push(`export class Store${i} {`, `  readonly #items = new Map<number, Item${i}>();`, '  private count = 0;', '');
    L.push(`  add(item: Item${i}): this {`, '    this.#items.set(item.id, item);', '    this.count += 1;', '    return this;', '  }', '');
    L.push(`  get(id: number): Item${i} | undefined {`, '    return this.#items.get(id);', '  }', '');
    L.push(
      '  total(): number {',
      '    let sum = 0;',
      '    for (const item of this.#items.values()) {',
      '      sum += item.weight ?? 1;',
      '    }',
      '    return sum;',
      '  }',
      '}',
      '',
    );
    for (let j = 0; j < 4; j++) {
      L.push(`/** Scores item tags (${i}.${j}). */`, `export function score${i}_${j}(items: readonly Item${i}[], options: Options = {}): number {`);
      L.push(
        '  const seen = new Set<string>();',
        '  let result = 0;',
        '  for (const item of items) {',
        '    for (const tag of item.tags) {',
        '      if (seen.has(tag)) continue;',
        '      seen.add(tag);',
      );
      L.push(
        `      result += tag.length * ${j + 1} + (options.bias ?? 0);`,
        '    }',
        '    if (item.name.startsWith(options.prefix ?? "x")) {',
        '      result -= 1;',
        '    } else {',
        `      result += item.id % ${j + 2};`,
        '    }',
        '  }',
      );
      L.push(
        '  const label: string = `${result}`;',
        '  if (label.length > 8) {',
        '    throw new RangeError(`score too large: ${label}`);',
        '  }',
        '  return result;',
        '}',
        '',
      );
    }
    L.push(
      `export function run${i}(n: number): number {`,
      `  const store = new Store${i}();`,
      '  for (let k = 0; k < n; k++) {',
      `    store.add({ id: k, name: \`item\${k}\`, tags: ['a', 'b', String(k % 3)] });`,
      '  }',
    );
    L.push(
      `  return store.total() + score${i}_0([...Array(n).keys()].map((id) => store.get(id)!))${i + 1 < MODULES ? ` + new Store${i + 1}().total()` : ''};`,
      '}',
      '',
    );
    writeFileSync(path.join(dir, `src/store${i}.ts`), L.join('\n'));
  }
  writeFileSync(path.join(dir, 'src/types.ts'), 'export interface Options {\n  bias?: number;\n  prefix?: string;\n}\n');
  writeFileSync(
    path.join(dir, 'src/main.ts'),
    "import ms from 'ms';\nimport { stringify } from 'yaml';\nimport { run0 } from './store0.ts';\n\nconst n: number = run0(5);\nconsole.log(stringify({ score: n, after: ms(1500) }).trim());\n",
  );
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'big', type: 'module', main: 'src/main.ts', dependencies: { ms: '*', yaml: '*' } }));
  for (const dep of ['ms', 'yaml']) cpSync(path.join(root, 'node_modules', dep), path.join(dir, 'node_modules', dep), { recursive: true });
}

function writeSmallProgram(dir) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'main.ts'), "import ms from 'ms';\nconst up: number = 90_000;\nconsole.log(`hello, up ${ms(up)}`);\n");
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'small', type: 'module', main: 'main.ts', dependencies: { ms: '*' } }));
  cpSync(path.join(root, 'node_modules', 'ms'), path.join(dir, 'node_modules', 'ms'), { recursive: true });
}

function stub(file, program, entry) {
  // The format of device/contract/programs/stub.ts (the build writes these into /usr/bin).
  writeFileSync(file, `#!/usr/bin/node /usr/lib/kiln/device/programs/run.js\nprogram=${program}\nentry=${entry}\n`, { mode: 0o755 });
}

// Each run also reports its CPU time (user + system, all of Node's threads), from bash's `times` for its one child:
// on a machine shared with other work, wall time also counts waiting for a core, CPU time does not.
const quote = (a) => `'${a.replaceAll("'", "'\\''")}'`;

/** One run: { wall, cpu } in ms. Wall time is measured here around the child itself, not around bash. */
function timeRun(node, args, env = {}) {
  const script = `start=$(date +%s%N); ${[node, ...args].map(quote).join(' ')} >/dev/null || exit 1; end=$(date +%s%N); echo "KILN-WALL $(( (end - start) / 1000 ))"; times`;
  const r = spawnSync('bash', ['-c', script], { env: { ...process.env, ...env }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  const wall = Number(/KILN-WALL (\d+)/.exec(r.stdout)[1]) / 1000;
  // `times`: the shell's own user/system, then its children's: "0m0.033s 0m0.004s".
  const children = r.stdout
    .trim()
    .split('\n')
    .at(-1)
    .match(/(\d+)m([\d.]+)s/g)
    .map((t) => {
      const [, m, sec] = /(\d+)m([\d.]+)s/.exec(t);
      return Number(m) * 60 + Number(sec);
    });
  return { wall, cpu: (children[0] + children[1]) * 1000 };
}

const stats = (values) => {
  const s = [...values].sort((a, b) => a - b);
  return { min: s[0], median: s[Math.floor(s.length / 2)] };
};
const fmt = (ms) => (Number.isNaN(ms) ? '     -   ' : `${ms.toFixed(0).padStart(5)} ms`);

const node = deviceNode();
const launcher = path.join(root, 'device/programs/run.js');
const work = mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-programs-'));
try {
  writeBigProgram(path.join(work, 'big'));
  writeSmallProgram(path.join(work, 'small'));
  mkdirSync(path.join(work, 'empty'));
  writeFileSync(path.join(work, 'empty/main.ts'), 'export {};\n');
  writeFileSync(path.join(work, 'empty/package.json'), JSON.stringify({ name: 'empty', type: 'module', main: 'main.ts' }));
  mkdirSync(path.join(work, 'bin'));
  stub(path.join(work, 'bin/big'), 'big', path.join(work, 'big/src/main.ts'));
  stub(path.join(work, 'bin/small'), 'small', path.join(work, 'small/main.ts'));
  stub(path.join(work, 'bin/empty'), 'empty', path.join(work, 'empty/main.ts'));
  const lines = readFileSync(path.join(work, 'big/src/store0.ts'), 'utf8').split('\n').length * 24 + 11;
  const warmCache = path.join(work, 'cache-warm');
  const run = (program, cache) => timeRun(node, [launcher, path.join(work, 'bin', program)], { KILN_COMPILE_CACHE: cache });
  // Warm the OS page cache and the warm compile cache.
  for (let i = 0; i < 3; i++) {
    run('big', warmCache);
    run('small', warmCache);
    run('empty', warmCache);
    timeRun(node, [path.join(work, 'big/src/main.ts')], { NODE_COMPILE_CACHE: warmCache });
    timeRun(node, [path.join(work, 'small/main.ts')], { NODE_COMPILE_CACHE: warmCache });
  }

  const series = { first: [], second: [], base: [], empty: [], small: [], smallDirect: [], big: [], direct: [] };
  for (let i = 0; i < ROUNDS; i++) {
    const fresh = path.join(work, `cache-${i}`);
    series.first.push(run('big', fresh));
    series.second.push(run('big', fresh));
    series.base.push(timeRun(node, ['-e', '0']));
    series.empty.push(run('empty', warmCache));
    series.small.push(run('small', warmCache));
    series.smallDirect.push(timeRun(node, [path.join(work, 'small/main.ts')], { NODE_COMPILE_CACHE: warmCache }));
    series.big.push(run('big', warmCache));
    series.direct.push(timeRun(node, [path.join(work, 'big/src/main.ts')], { NODE_COMPILE_CACHE: warmCache }));
    rmSync(fresh, { recursive: true, force: true });
  }
  const of = (key, field) => stats(series[key].map((r) => r[field]));
  const diff = (field) => stats(series.first.map((r, i) => r[field] - series.second[i][field]));
  const pct = (a, b) => (Number.isNaN(a) ? '' : `${a >= b ? '+' : ''}${(((a - b) / b) * 100).toFixed(0)} %`);
  const row = (label, w, c, note = '') => console.log(`${label.padEnd(58)} ${fmt(w.min)} ${fmt(w.median)}  ${fmt(c.min)} ${fmt(c.median)}${note}`);
  const vsBase = (key) =>
    `   vs node -e 0: ${pct(of(key, 'wall').min, of('base', 'wall').min)} wall, ${pct(of(key, 'cpu').min, of('base', 'cpu').min)} CPU (min)`;

  console.log(
    `kiln bench: programs, Node ${spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim()} on this machine (${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}), ${ROUNDS} rounds`,
  );
  console.log(`big program: ${lines} lines of TypeScript in 26 modules, importing ms and yaml (npm)`);
  console.log(`${''.padEnd(58)} ${'wall min'.padStart(8)} ${'median'.padStart(8)}  ${'CPU min'.padStart(8)} ${'median'.padStart(8)}`);
  row('big: first run (compile included)', of('first', 'wall'), of('first', 'cpu'));
  row('big: second run (from the compile cache)', of('second', 'wall'), of('second', 'cpu'));
  row('big: first run minus cached run (aim < 150 ms, max 500)', diff('wall'), diff('cpu'));
  row('node -e 0', of('base', 'wall'), of('base', 'cpu'));
  row("empty program, cached (the launcher's own cost)", of('empty', 'wall'), of('empty', 'cpu'), vsBase('empty'));
  row('small program (ms, 3 lines), cached (aim: within 10 %)', of('small', 'wall'), of('small', 'cpu'), vsBase('small'));
  row('small program by node itself (node main.ts, NODE_COMPILE_CACHE)', of('smallDirect', 'wall'), of('smallDirect', 'cpu'), vsBase('smallDirect'));
  row('big program, cached', of('big', 'wall'), of('big', 'cpu'), vsBase('big'));
  row('big program by node itself (node main.ts, NODE_COMPILE_CACHE)', of('direct', 'wall'), of('direct', 'cpu'));
} finally {
  rmSync(work, { recursive: true, force: true });
}
