#!/usr/bin/env node
// Prints issue 5's layout figures: for `layout: initramfs` (everything in the UKI) and `layout: source` (the Sourcery
// layout: Node and the TypeScript on the stick), each architecture's release EFI size, what goes on the stick, and
// the used RAM after boot under TCG (a one-shot program, bench/layouts/memreport, prints it 10 s after it starts).
// Measures; asserts nothing.
//   node bench/layouts.mjs             sizes and four boots (two layouts x two architectures), ~6 min warm
//   node bench/layouts.mjs --no-boot   sizes only
// Runs kiln from source (tsx) on a private copy of examples/, with examples/multiarch.yml as the device.
import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const cli = [path.join(root, 'node_modules/tsx/dist/cli.mjs'), path.join(root, 'test/helpers/kiln-from-source.ts')];
const work = await mkdtemp(path.join(os.tmpdir(), 'kiln-bench-layouts-'));
const boot = !process.argv.includes('--no-boot');

function kiln(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...cli, ...args], { cwd: work, env: { ...process.env, CI: 'true' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;
const row = (...cells) => console.log(cells.map((c, i) => String(c).padEnd(i === 0 ? 34 : 22)).join(''));

try {
  await cp(path.join(root, 'examples'), path.join(work, 'examples'), { recursive: true });
  await cp(path.join(root, 'bench/layouts/memreport'), path.join(work, 'examples/programs/memreport'), { recursive: true });
  const base = await readFile(path.join(work, 'examples/multiarch.yml'), 'utf8');
  console.log(`kiln bench: layouts of examples/multiarch.yml (+ memreport), ${os.cpus().length} cores, QEMU TCG, 1 GiB guests`);
  row('layout / arch', 'release EFI', 'on the stick', 'used RAM after boot', 'init RSS', 'Shmem (rootfs in RAM)', 'ready (fast, TCG)');
  for (const layout of ['initramfs', 'source']) {
    const config = path.join(work, `examples/layout-${layout}.yml`);
    await writeFile(
      config,
      `${base.replace(/^layout: source$/m, `layout: ${layout}`)}  - name: memreport\n    source: programs/memreport\n    service: { restart: never }\n`,
    );
    const built = await kiln(['build', config, '--out', path.join(work, `out-${layout}`), '--json', '-q']);
    if (built.code !== 0) throw new Error(`kiln build (${layout}) failed:\n${built.stderr}`);
    const results = JSON.parse(built.stdout);
    const memory = {};
    if (boot) {
      const disk = path.join(work, `${layout}.img`);
      const made = await kiln(['disk', config, '--out', disk, '--profile', 'fast', '-q']);
      if (made.code !== 0) throw new Error(`kiln disk (${layout}) failed:\n${made.stderr}`);
      for (const r of results) {
        // The whole line: kiln run ends as soon as the console matches.
        const run = await kiln(['run', disk, '--arch', r.arch, '--expect', 'memreport: used .* arch (x64|arm64)', '--timeout', '600']);
        const m = /memreport: used ([\d.]+) MiB of ([\d.]+) MiB; init RSS ([\d.]+) MiB; Shmem ([\d.]+) MiB/.exec(run.stdout);
        if (m === null) {
          const kept = path.join(os.tmpdir(), `kiln-bench-layouts-${layout}-${r.arch}.txt`);
          await writeFile(kept, run.stdout + run.stderr);
          console.error(`kiln bench: ${layout}/${r.arch}: no memreport line (exit ${run.code}); console kept in ${kept}`);
        }
        const ready = /kiln: ready in (\d+) ms/.exec(run.stdout)?.[1];
        memory[r.arch] = m
          ? {
              used: `${m[1]} of ${m[2]} MiB`,
              rss: `${m[3]} MiB`,
              shmem: `${m[4]} MiB`,
              ready: ready === undefined ? '-' : `${(Number(ready) / 1000).toFixed(1)} s`,
            }
          : { used: `no report (exit ${run.code})`, rss: '-', shmem: '-', ready: '-' };
      }
    }
    for (const r of results) {
      const mem = memory[r.arch] ?? { used: '-', rss: '-', shmem: '-', ready: '-' };
      row(`${layout} / ${r.arch}`, mb(r.size), r.stick ? mb(r.stick.bytes) : '-', mem.used, mem.rss, mem.shmem, mem.ready);
    }
  }
  console.log('release EFI: xz -9e initramfs; the boots use the fast profile (the RAM a root takes does not depend on it).');
} finally {
  await rm(work, { recursive: true, force: true });
}
