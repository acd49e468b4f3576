#!/usr/bin/env node
// Prints kiln's disk figures (issue 3's "Numbers"): `kiln disk` for examples/gateway.yml, and the boot from that
// disk to "kiln: ready" with the storage stage's share. Measures; asserts nothing.
//   node bench/disk.mjs            all figures (boots under QEMU once)
//   node bench/disk.mjs --no-boot  kiln disk only
// Runs the compiled CLI (npm run prepare first). Uses the normal cache ($XDG_CACHE_HOME/kiln): the first run of a
// cold cache downloads and compresses everything; the figures after it are warm-cache ones.
import { spawn } from 'node:child_process';
import { cp, mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const kilnBin = path.join(root, 'bin/kiln.js');
const work = await mkdtemp(path.join(os.tmpdir(), 'kiln-bench-disk-'));
const boot = !process.argv.includes('--no-boot');

function kiln(args) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [kilnBin, ...args], { cwd: work, env: { ...process.env, CI: 'true' } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, seconds: Number(process.hrtime.bigint() - started) / 1e9 }));
  });
}

const line = (label, value, note = '') => console.log(`${label.padEnd(52)} ${value.padStart(8)}${note ? `  ${note}` : ''}`);

try {
  // A private copy of the examples, so nothing in the repository is touched (kiln.lock included).
  await cp(path.join(root, 'examples'), path.join(work, 'examples'), { recursive: true });
  const config = path.join(work, 'examples/gateway.yml');
  const disk = path.join(work, 'disk.img');
  console.log('kiln bench: disk (2-core machine; wall clock of the whole CLI)');
  for (const [label, args] of [
    ['kiln disk, release (first here: cache as found)', []],
    ['kiln disk, release, warm cache', []],
    ['kiln disk, fast profile, warm cache', ['--profile', 'fast']],
  ]) {
    const r = await kiln(['disk', config, '--out', disk, '-q', ...args]);
    if (r.code !== 0) throw new Error(`${label}: kiln disk failed:\n${r.out}`);
    line(label, `${r.seconds.toFixed(1)} s`);
  }
  const st = await stat(disk);
  line(
    'disk image: apparent size / space used on the host',
    `${(st.size / 2 ** 20).toFixed(0)} MiB`,
    `/ ${((st.blocks * 512) / 2 ** 20).toFixed(0)} MiB (sparse)`,
  );
  if (boot) {
    await kiln(['disk', config, '--out', disk, '-q']); // boot the release image, as a device would
    const r = await kiln(['run', disk, '--expect', 'kiln: ready in \\d+ ms', '--timeout', '400']);
    const ready = /kiln: ready in (\d+) ms/.exec(r.out);
    const complete = /kiln: boot complete: kernel (\d+) ms, node startup (\d+) ms, init (\d+) ms/.exec(r.out);
    const storage = /kiln: storage: .*\((\d+) ms\)/.exec(r.out);
    const mounted = /kiln: (DATA \(ext4\) \S+ → \/data)/.exec(r.out);
    line('boot from the disk to "kiln: ready" (kiln run), wall', `${r.seconds.toFixed(1)} s`, `(exit ${r.code})`);
    if (ready) line('kernel start -> ready (the ready line)', `${(Number(ready[1]) / 1000).toFixed(2)} s`);
    if (complete)
      line(
        "node startup / init's own share (init start -> ready)",
        `${(Number(complete[2]) / 1000).toFixed(2)} s`,
        `/ ${(Number(complete[3]) / 1000).toFixed(2)} s`,
      );
    if (storage) line('storage stage (find DATA by label, mount it)', `${storage[1]} ms`, mounted ? mounted[1] : 'DATA NOT MOUNTED');
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
