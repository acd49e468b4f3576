/**
 * superviseQemu against stand-in "QEMU"s: shell scripts that print console text and exit, so the wiring (echo,
 * matching, stdin, exit classification, killing) is tested in milliseconds. Real QEMU: run.qemu.test.ts.
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { resolveRunOptions, type RunOptions } from './options.js';
import { superviseQemu } from './supervise.js';

let dir: string;
beforeAll(async () => (dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-supervise-'))));
afterAll(() => rm(dir, { recursive: true, force: true }));

async function fakeQemu(name: string, script: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, `#!/bin/sh\n${script}\n`);
  await chmod(file, 0o755);
  return file;
}

/** Killed means gone, or a zombie its new parent has yet to reap. */
function processState(pid: number): Promise<string> {
  return readFile(`/proc/${pid}/stat`, 'utf8').then(
    (stat) => stat.split(') ')[1]![0]!,
    () => 'gone',
  );
}

function sink() {
  let text = '';
  return { stream: new Writable({ write: (c, _e, cb) => ((text += String(c)), cb()) }), text: () => text };
}

async function supervise(qemu: string, extra: Partial<RunOptions> = {}) {
  const out = sink();
  const err = sink();
  const options = resolveRunOptions({ efi: 'unused', stdout: out.stream, stderr: err.stream, ...extra });
  const result = await superviseQemu({ qemu, args: [], qmpSocket: path.join(dir, 'no-qmp.sock'), options });
  return { ...result, out: out.text(), err: err.text() };
}

describe('superviseQemu', () => {
  test('echoes the console and classifies a power-off: exit 0 without --expect, 3 with', async () => {
    const qemu = await fakeQemu('poweroff', "printf 'booting\\r\\n[ 1.0] reboot: Power down\\r\\n'");
    const plain = await supervise(qemu);
    expect(plain).toMatchObject({ outcome: 'poweroff', exitCode: 0, out: 'booting\r\n[ 1.0] reboot: Power down\r\n' });
    expect(plain.consoleTail).toBe('booting\n[ 1.0] reboot: Power down\n');
    expect(await supervise(qemu, { expect: /ready/ })).toMatchObject({ outcome: 'poweroff', exitCode: 3 });
  });

  test('a panic: exit 5', async () => {
    const qemu = await fakeQemu('panic', "printf 'Kernel panic - not syncing: Attempted to kill init!\\nreboot: Restarting system\\n'");
    expect(await supervise(qemu)).toMatchObject({ outcome: 'panic', exitCode: 5 });
  });

  test('a match stops QEMU at once: exit 0', async () => {
    const qemu = await fakeQemu('ready', "printf 'kiln: rea'; sleep 0.2; printf 'dy\\n'; sleep 60");
    const started = Date.now();
    expect(await supervise(qemu, { expect: /kiln: ready/ })).toMatchObject({ outcome: 'matched', exitCode: 0 });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  test('stdin reaches the guest console', async () => {
    const qemu = await fakeQemu('echo', 'exec cat');
    const keys = new PassThrough();
    keys.write('hello guest\n');
    expect(await supervise(qemu, { stdin: keys, expect: /hello guest/ })).toMatchObject({ outcome: 'matched' });
  });

  test('timeout: exit 124, and nothing QEMU started lives on', async () => {
    const pidFile = path.join(dir, 'sleep.pid');
    const qemu = await fakeQemu('hang', `sleep 60 & echo $! > ${pidFile}; wait`);
    expect(await supervise(qemu, { timeout: 0.5 })).toMatchObject({ outcome: 'timeout', exitCode: 124 });
    expect(['gone', 'Z', 'X']).toContain(await processState(Number(await readFile(pidFile, 'utf8'))));
  });

  test('whatever QEMU leaves behind when it exits on its own is killed, and does not hold the run open', async () => {
    const pidFile = path.join(dir, 'leftover.pid');
    const qemu = await fakeQemu('leftover', `sleep 60 & echo $! > ${pidFile}; printf 'reboot: Power down\\n'`);
    const started = Date.now();
    expect(await supervise(qemu)).toMatchObject({ outcome: 'poweroff', exitCode: 0 });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(['gone', 'Z', 'X']).toContain(await processState(Number(await readFile(pidFile, 'utf8'))));
  });

  test('QEMU failing: exit 6, its stderr passed on', async () => {
    const qemu = await fakeQemu('fail', "echo 'qemu-system-x86_64: -m 1X: Parameter size expects a non-negative number' >&2; exit 1");
    const result = await supervise(qemu);
    expect(result).toMatchObject({ outcome: 'qemu-failed', exitCode: 6 });
    expect(result.err).toContain('Parameter size expects');
  });

  test('QEMU that cannot be started: exit 6', async () => {
    const result = await supervise(path.join(dir, 'missing-qemu'));
    expect(result).toMatchObject({ outcome: 'qemu-failed', exitCode: 6 });
    expect(result.err).toContain('cannot run');
  });
});
