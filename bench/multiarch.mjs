#!/usr/bin/env node
// Prints the multi-architecture figures (issue 5's "Numbers"): what the second architecture of
// examples/multiarch.yml costs to build, both EFI sizes, and aarch64's time to "kiln: ready" under TCG.
// Measures; asserts nothing.
//   node bench/multiarch.mjs              all figures (one aarch64 boot)
//   node bench/multiarch.mjs --no-boot    build figures only
//   node bench/multiarch.mjs --no-cold    skip the build with empty layer caches (it recompresses ~250 MB)
// Runs kiln from source (tsx), on a private copy of examples/ (the lock may gain pins there, not in the repo).
// "Warm cache" = the normal cache ($XDG_CACHE_HOME/kiln) after one build: every input downloaded, every layer
// compressed. "Cold layers" = the same downloads, linked into a fresh cache with no compressed layers: what a
// new kiln version or a re-pinned Node costs per architecture.
import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, stat, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const cli = [path.join(root, 'node_modules/tsx/dist/cli.mjs'), path.join(root, 'test/helpers/kiln-from-source.ts')];
const work = await mkdtemp(path.join(os.tmpdir(), 'kiln-bench-multiarch-'));
const boot = !process.argv.includes('--no-boot');
const cold = !process.argv.includes('--no-cold');
const cacheHome = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');

function kiln(args, env = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [...cli, ...args], { cwd: work, env: { ...process.env, CI: 'true', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, seconds: Number(process.hrtime.bigint() - started) / 1e9 }));
  });
}

/** Builds every architecture; returns kiln's per-architecture results (durationMs is each one's own build). */
async function build(label, args, env) {
  const r = await kiln(['build', ...args, '--json', '-q'], env);
  if (r.code !== 0) throw new Error(`${label}: kiln build failed:\n${r.stderr}`);
  const results = JSON.parse(r.stdout);
  const each = results.map((x) => `${x.arch} ${(x.durationMs / 1000).toFixed(1)} s`).join(', ');
  console.log(`${label.padEnd(50)} ${r.seconds.toFixed(1).padStart(6)} s  (${each})`);
  return results;
}

const row = (label, value) => console.log(`${label.padEnd(50)} ${value}`);
const mb = (bytes) => `${(bytes / 1e6).toFixed(1).padStart(6)} MB`;

try {
  await cp(path.join(root, 'examples'), path.join(work, 'examples'), { recursive: true });
  const config = path.join(work, 'examples/multiarch.yml');
  const out = path.join(work, 'out');
  console.log(`kiln bench: examples/multiarch.yml, arch: [x86_64, aarch64] (${os.cpus().length} cores; wall clock of the whole CLI)`);

  await build('release build (first here: cache as found)', [config, '--out', out]);
  const warm = await build('release build, warm cache', [config, '--out', out]);
  row('  second architecture (aarch64), warm cache', `${(warm[1].durationMs / 1000).toFixed(1).padStart(6)} s`);
  const fast = await build('fast build, warm cache', [config, '--out', `${out}-fast`, '--profile', 'fast']);
  row('  second architecture (aarch64), warm cache', `${(fast[1].durationMs / 1000).toFixed(1).padStart(6)} s`);

  if (cold) {
    // The downloads and unpacked trees, linked (read-only use); layers/ starts empty.
    const fresh = path.join(work, 'cache');
    await mkdir(path.join(fresh, 'kiln', 'layers'), { recursive: true });
    for (const d of ['blobs', 'trees', 'apt']) await symlink(path.join(cacheHome, 'kiln', d), path.join(fresh, 'kiln', d));
    const coldRelease = await build('release build, inputs cached, no layer cached', [config, '--out', `${out}-cold`], { XDG_CACHE_HOME: fresh });
    row(
      '  second architecture (aarch64), layers compressed',
      `${(coldRelease[1].durationMs / 1000).toFixed(1).padStart(6)} s  (Sourcery: +90 s per architecture)`,
    );
    const coldFast = await build('fast build, inputs cached, no layer cached', [config, '--out', `${out}-cold-fast`, '--profile', 'fast'], {
      XDG_CACHE_HOME: fresh,
    });
    row('  second architecture (aarch64), layers compressed', `${(coldFast[1].durationMs / 1000).toFixed(1).padStart(6)} s`);
  }

  for (const r of warm) row(`release image ${path.basename(r.efi)} (${r.arch})`, `${mb(r.size)}  (kernel ${mb(r.parts['kernel (vmlinuz)'])})`);
  for (const r of fast) row(`fast image ${path.basename(r.efi)} (${r.arch})`, mb(r.size));

  if (boot) {
    const efi = warm[1].efi;
    const r = await kiln(['run', efi, '--expect', 'kiln: ready in \\d+ ms', '--timeout', '900']);
    const ready = /kiln: ready in (\d+) ms/.exec(r.stdout);
    const parts = /boot complete: kernel (\d+) ms, node startup (\d+) ms, init (\d+) ms/.exec(r.stdout);
    row('aarch64 boot to "kiln: ready" under TCG, wall', `${r.seconds.toFixed(1).padStart(6)} s  (kiln run, AAVMF, exit ${r.code})`);
    if (ready) row('  kernel start -> ready (the ready line)', `${(Number(ready[1]) / 1000).toFixed(2).padStart(6)} s`);
    if (parts) {
      const [, kernel, node, init] = parts.map(Number);
      row('  kernel (incl. unpacking the initramfs)', `${(kernel / 1000).toFixed(2).padStart(6)} s`);
      row("  Node's own start-up before the init's first line", `${(node / 1000).toFixed(2).padStart(6)} s`);
      row("  the init's own share: init start -> ready", `${(init / 1000).toFixed(2).padStart(6)} s`);
    }
    console.log(`(load average after booting: ${os.loadavg()[0].toFixed(2)} on ${os.cpus().length} cores; TCG times grow with load)`);
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
