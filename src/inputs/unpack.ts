/**
 * Unpacking inputs once: a .deb (dpkg-deb) or an npm tarball (node-tar) becomes a folder in the cache,
 * named by the input's sha256, made under a temporary name and renamed into place when complete.
 */
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import * as tar from 'tar';
import { execOk } from '../util/exec.js';
import { tempBeside, type Cache } from './cache.js';
import type { ResolvedInput } from './resolve.js';

export async function unpackInput(cache: Cache, input: ResolvedInput): Promise<string> {
  const dest = cache.treePath(input.entry.sha256);
  if (await exists(dest)) return dest;
  await mkdir(path.dirname(dest), { recursive: true });
  const tmp = tempBeside(dest);
  await mkdir(tmp);
  try {
    if (input.entry.type === 'deb') {
      await execOk('dpkg-deb', ['-x', input.file, tmp], `unpacking ${input.entry.name}`);
    } else {
      // npm tarballs hold everything under "package/".
      await tar.x({ file: input.file, cwd: tmp, strip: 1, preservePaths: false });
    }
    await rename(tmp, dest);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  return dest;
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}
