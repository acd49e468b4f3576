/**
 * Runs kiln's CLI as a child process from source (through tsx), with its own environment: what a user's shell
 * does, including PATH and proxy settings reaching the tools kiln starts.
 */
import { spawn } from 'node:child_process';
import { copyFile } from 'node:fs/promises';
import path from 'node:path';

export interface CliOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

const root = path.resolve(import.meta.dirname, '../..');
export const KILN_FROM_SOURCE = [path.join(root, 'node_modules/tsx/dist/cli.mjs'), path.join(root, 'test/helpers/kiln-from-source.ts')];

/** `signal` stops the command (SIGTERM) when it aborts; the outcome is then whatever it printed until then. */
export function kiln(argv: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; signal?: AbortSignal } = {}): Promise<CliOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...KILN_FROM_SOURCE, ...argv], {
      cwd: options.cwd ?? root,
      env: { ...process.env, CI: 'true', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    options.signal?.addEventListener('abort', () => child.kill('SIGTERM'), { once: true });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** Starts `kiln run` as a user would; `onConsole` sees the console text so far after every chunk. */
export function kilnRun(args: string[], onConsole?: (text: string, child: ReturnType<typeof spawn>) => void) {
  return new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [...KILN_FROM_SOURCE, 'run', ...args], { cwd: root, env: { ...process.env, CI: 'true' } });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      onConsole?.(out, child);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

/**
 * `kiln disk CONFIG --out DISK` (fast profile, 256 MiB), with the examples' pins copied beside the config first so a
 * warm cache builds offline; fails the test on any error output.
 */
export async function makeTestDisk(config: string, disk: string): Promise<void> {
  await copyFile(path.join(root, 'examples/kiln.lock'), path.join(path.dirname(config), 'kiln.lock'));
  const made = await kiln(['disk', config, '--out', disk, '--size', '256M', '--profile', 'fast', '-q']);
  // Loaded here, not at the top: the benches (bench/*.mjs) use this module outside vitest.
  const { expect } = await import('vitest');
  expect(made.stderr).toBe('');
  expect(made.code).toBe(0);
}
