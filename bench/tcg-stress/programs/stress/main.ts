// Starts Node again and again, two at a time: each child loads the init's whole module graph (type stripping, so
// V8 compiles WebAssembly) and runs JIT-heavy code. Prints a line per failed start and a running count. Used by
// bench/tcg-threads.mjs to compare QEMU's TCG threading modes.
import { spawn } from 'node:child_process';

const rounds = Number(process.argv[2] ?? '20');
const CHILD = `await import('/usr/lib/kiln/device/init/start.ts');
let s = 0; const m = new Map();
for (let i = 0; i < 2e6; i++) { s += Math.sqrt(i); if (i % 1000 === 0) m.set(String(i), { i, s }); }
const re = /a(b+)c/; for (let i = 0; i < 1e5; i++) re.test('xabbbc' + i);
console.log('ok', m.size);`;

function start(): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('exit', (code, signal) => {
      if (code === 0) return resolve('ok');
      const why = stderr
        .split('\n')
        .filter((l) => /Check failed|Fatal|Error/.test(l))
        .slice(0, 2)
        .join(' | ');
      resolve(`code=${code} signal=${signal} ${why}`);
    });
  });
}

let failed = 0;
const t0 = Date.now();
for (let round = 1; round <= rounds; round++) {
  for (const result of await Promise.all([start(), start()])) {
    if (result !== 'ok') {
      failed += 1;
      console.log(`stress: start failed: ${result}`);
    }
  }
}
console.log(`stress: done: ${rounds * 2} starts, ${failed} failed, ${Math.round((Date.now() - t0) / (rounds * 2))} ms each`);
