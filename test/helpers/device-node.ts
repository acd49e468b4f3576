/**
 * The device's Node.js (x86_64, the version examples/kiln.lock pins) from kiln's cache, for tests that need what
 * the host's Node 20 lacks (zlib zstd). On a fresh machine the cache is empty: a fast build of examples/minimal.yml
 * fetches and unpacks it (the boot tests need that build anyway, so nothing is wasted).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');

export function deviceNodePath(): string {
  const lock = JSON.parse(readFileSync(path.join(root, 'examples/kiln.lock'), 'utf8')) as { inputs: Record<string, { sha256: string }> };
  const cache = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'kiln');
  return path.join(cache, 'trees', lock.inputs['x86_64/node']?.sha256 ?? 'none', 'bin', 'node');
}

/** The device Node's path, building examples/minimal.yml once when the cache lacks it (minutes on a cold cache). */
export function deviceNode(): string {
  const node = deviceNodePath();
  if (existsSync(node)) return node;
  const out = mkdtempSync(path.join(os.tmpdir(), 'kiln-device-node-'));
  try {
    const r = spawnSync(
      process.execPath,
      [
        path.join(root, 'node_modules/tsx/dist/cli.mjs'),
        path.join(root, 'test/helpers/kiln-from-source.ts'),
        'build',
        'examples/minimal.yml',
        '--out',
        out,
        '--profile',
        'fast',
        '-q',
      ],
      {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, CI: 'true' },
      },
    );
    if (r.status !== 0 || !existsSync(node))
      throw new Error(`the device's Node 26 is not in kiln's cache and building examples/minimal.yml to fetch it failed:\n${r.stderr}`);
    return node;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
