/**
 * A private kiln cache seeded from the user's, for tests that build "from scratch in another cache" without
 * downloading again: the blobs hard-linked (instant, no space), or copied where the private cache lies on another
 * filesystem than the user's (a tmpfs /tmp: hard links cannot cross filesystems).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { cacheRoot } from '../../src/inputs/cache.js';

export function seedCache(xdgCacheHome: string): void {
  const from = path.join(cacheRoot(), 'blobs');
  const to = path.join(xdgCacheHome, 'kiln', 'blobs');
  mkdirSync(path.dirname(to), { recursive: true });
  try {
    execFileSync('cp', ['-al', from, to], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch {
    execFileSync('rm', ['-rf', to]);
    execFileSync('cp', ['-a', '--reflink=auto', from, to]);
  }
}
