/**
 * End to end, one boot: programs shipped as TypeScript source, compiled on the device on first use.
 * The image has examples/programs/* (greet with its npm dependency, heartbeat, flaky) and two fixtures: `broken`
 * (a syntax error) and `check-programs`, a one-shot service that runs `greet` twice and `kiln-status`.
 * Checked on the console: greet's first run compiles, its second comes from the compile cache, both print;
 * broken reports file:line:col and the device stays up; flaky is restarted after 1 s, 2 s, 4 s; at power-off the
 * init stops the services before anything else.
 */
import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { KILN_FROM_SOURCE, kiln } from '../helpers/cli.js';
import { checkProgramsConsole, initLines, RESTART } from '../helpers/programs-console.js';

const root = path.resolve(import.meta.dirname, '../..');
let work: string;
let efi: string;

const config = (r: string) => `name: programs-e2e
hostname: kiln-programs-e2e
kernel:
  modules: [virtio_pci, virtio_blk, virtio_net]
programs:
  - name: greet
    source: ${r}/examples/programs/greet
  - name: heartbeat
    source: ${r}/examples/programs/heartbeat
    args: [--every, "3"]
    service: { restart: always }
  - name: flaky
    source: ${r}/examples/programs/flaky
    service:
      restart: on-failure
      backoff: { initialMs: 1000, maxMs: 4000, resetAfterMs: 60000 }
  - name: broken
    source: ${r}/test/fixtures/programs/broken
    service: { restart: never }
  - name: check-programs
    source: ${r}/test/fixtures/programs/check-programs
    service: { restart: never }
`;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'kiln-programs-'));
  await writeFile(path.join(work, 'kiln.yml'), config(root));
  // The example's pins (inputs and greet's dependency tree): a warm cache builds without the network.
  await copyFile(path.join(root, 'examples/kiln.lock'), path.join(work, 'kiln.lock'));
  const r = await kiln(['build', path.join(work, 'kiln.yml'), '--out', path.join(work, 'out'), '--profile', 'fast', '--json', '-q']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  efi = JSON.parse(r.stdout).efi;
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

function kilnRun(args: string[], onConsole: (text: string, child: ReturnType<typeof spawn>) => void) {
  return new Promise<{ code: number | null; out: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [...KILN_FROM_SOURCE, 'run', ...args], { cwd: root, env: { ...process.env, CI: 'true' } });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      onConsole(out, child);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe('programs on a booted device (examples/programs/* and test fixtures)', () => {
  test('compile on first run, run from the cache, report a syntax error, restart a failing service, stop services at shutdown', async () => {
    let stopping = false;
    const r = await kilnRun([efi, '--timeout', '420'], (text, child) => {
      const lines = initLines(text);
      const restarts = lines.filter((l) => RESTART.test(l)).length;
      if (!stopping && restarts >= 3 && lines.includes('[check-programs] check: done')) {
        stopping = true;
        // kiln run presses the power button on SIGTERM: the init's shutdown stops the services first.
        setTimeout(() => child.kill('SIGTERM'), 1000);
      }
    });
    await writeFile(path.join(os.tmpdir(), 'kiln-programs-e2e-console.txt'), r.out);
    checkProgramsConsole(r.out);
    expect(r.code).toBe(0);
  }, 600_000);
});
