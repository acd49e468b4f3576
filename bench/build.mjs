#!/usr/bin/env node
// Prints kiln's build and boot figures (issue 2's "Numbers"). Measures; asserts nothing.
//   node bench/build.mjs            all figures (boots under QEMU once)
//   node bench/build.mjs --no-boot  build figures only
// Runs the compiled CLI (npm run prepare first). Uses the normal cache ($XDG_CACHE_HOME/kiln): the first build
// of a cold cache downloads and compresses everything; the figures after it are warm-cache ones.
import { spawn } from 'node:child_process';
import { copyFile, cp, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const kilnBin = path.join(root, 'bin/kiln.js');
const work = await mkdtemp(path.join(os.tmpdir(), 'kiln-bench-'));
const boot = !process.argv.includes('--no-boot');

function kiln(args, { echo = false } = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [kilnBin, ...args], { cwd: work, env: { ...process.env, CI: 'true' } });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (echo) process.stderr.write(d);
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, seconds: Number(process.hrtime.bigint() - started) / 1e9 }));
  });
}

async function timedBuild(label, args) {
  const r = await kiln(['build', ...args, '-q']);
  if (r.code !== 0) throw new Error(`${label}: kiln build failed:\n${r.out}`);
  console.log(`${label.padEnd(52)} ${r.seconds.toFixed(1).padStart(6)} s`);
  return r;
}

try {
  // A private copy of the example, so a config edit touches nothing in the repository.
  await cp(path.join(root, 'examples'), path.join(work, 'examples'), { recursive: true });
  const config = path.join(work, 'examples/minimal.yml');
  const out = path.join(work, 'out');
  console.log('kiln bench: build times (2-core machine; wall clock of the whole CLI)');
  await timedBuild('release build (first here: cache as found)', [config, '--out', out]);
  const size = (await stat(path.join(out, 'BOOTX64.EFI'))).size;
  await timedBuild('release rebuild, nothing changed', [config, '--out', out]);
  await writeFile(config, (await readFile(config, 'utf8')).replace(/hostname: .*/, 'hostname: kiln-bench-edit'));
  await timedBuild('release build after a config-only change', [config, '--out', out]);
  await timedBuild('fast build (first here: layer cache as found)', [config, '--out', `${out}-fast`, '--profile', 'fast']);
  await timedBuild('fast build, warm cache', [config, '--out', `${out}-fast`, '--profile', 'fast']);
  console.log(`${'release image size (examples/minimal.yml)'.padEnd(52)} ${(size / 1e6).toFixed(1).padStart(6)} MB  (must: < 45 MB, aim: 36 MB)`);
  if (boot) {
    await copyFile(path.join(out, 'BOOTX64.EFI'), path.join(work, 'boot.efi'));
    const r = await kiln(['run', path.join(work, 'boot.efi'), '--expect', 'kiln: ready in \\d+ ms', '--timeout', '300']);
    const ready = /kiln: ready in (\d+) ms/.exec(r.out);
    const parts = /boot complete: kernel (\d+) ms, node startup (\d+) ms, init (\d+) ms/.exec(r.out);
    console.log(`${'boot to "kiln: ready" under TCG, wall (kiln run)'.padEnd(52)} ${r.seconds.toFixed(1).padStart(6)} s  (exit ${r.code})`);
    if (ready) console.log(`${'kernel start -> ready (the ready line)'.padEnd(52)} ${(Number(ready[1]) / 1000).toFixed(2).padStart(6)} s`);
    if (parts) {
      const [, kernel, node, init] = parts.map(Number);
      console.log(`${'  kernel (incl. unpacking the initramfs)'.padEnd(52)} ${(kernel / 1000).toFixed(2).padStart(6)} s`);
      console.log(`${"  Node's own start-up before the init's first line".padEnd(52)} ${(node / 1000).toFixed(2).padStart(6)} s`);
      console.log(`${"  the init's own share: init start -> ready".padEnd(52)} ${(init / 1000).toFixed(2).padStart(6)} s`);
    }
    console.log(`(load average while booting: ${os.loadavg()[0].toFixed(2)} on ${os.cpus().length} cores; TCG times grow with load)`);
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
