#!/usr/bin/env node
// Why kiln runs x86_64 guests on single-threaded TCG: boots bench/tcg-stress (a program that starts Node 40 times,
// two at a time, on a 2-vCPU guest) under each TCG threading mode and prints how many starts crashed and how long a
// start took, then the uptime at "kiln: ready" of examples/minimal.yml in each mode. ~25 minutes under TCG.
// Measures; asserts nothing.
//   node bench/tcg-threads.mjs [--modes single,multi] [--rounds N]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const modes = arg('--modes', 'single,multi').split(',');
const rounds = Number(arg('--rounds', '20'));
const kiln = path.join(root, 'bin', 'kiln.js');
const out = mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-tcg-'));

function run(config, mode, expect, timeout) {
  const r = spawnSync(
    process.execPath,
    [kiln, 'run', config, '--out', path.join(out, mode), '--tcg-threads', mode, '--expect', expect, '--timeout', String(timeout)],
    {
      cwd: root,
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    },
  );
  if (r.status !== 0) console.error(`kiln run ${config} --tcg-threads ${mode}: exit ${r.status}\n${(r.stderr ?? '').slice(-2000)}`);
  return r.stdout + r.stderr;
}

try {
  const stressDir = path.join(out, 'stress');
  const yml = readFileSync(path.join(root, 'bench/tcg-stress/kiln.yml'), 'utf8').replace('args: ["20"]', `args: ["${rounds}"]`);
  spawnSync('cp', ['-r', path.join(root, 'bench/tcg-stress'), stressDir]);
  writeFileSync(path.join(stressDir, 'kiln.yml'), yml);
  spawnSync('cp', [path.join(root, 'examples/kiln.lock'), stressDir]);
  for (const mode of modes) {
    const text = run(path.join(stressDir, 'kiln.yml'), mode, 'stress: done: .*each', 60 + rounds * 40);
    const done = text.match(/stress: done: (\d+) starts, (\d+) failed, (\d+) ms each/);
    const kinds = [...text.matchAll(/stress: start failed: (.*)/g)].map((m) => m[1].replace(/\s+$/, ''));
    console.log(
      done ? `TCG ${mode}: ${done[2]} of ${done[1]} Node starts crashed, ${done[3]} ms a start (two at a time)` : `TCG ${mode}: the stress run did not finish`,
    );
    for (const k of new Set(kinds)) console.log(`  ${kinds.filter((x) => x === k).length} × ${k}`);
  }
  for (const mode of modes) {
    const text = run(path.join(root, 'examples/minimal.yml'), mode, 'kiln: ready in \\d+ ms', 300);
    const ready = text.match(/kiln: ready in (\d+) ms/);
    console.log(`TCG ${mode}: examples/minimal.yml ready at ${ready ? `${(Number(ready[1]) / 1000).toFixed(1)} s` : '(no ready line)'}`);
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
