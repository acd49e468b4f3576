/**
 * kiln's content-addressed download cache: `$XDG_CACHE_HOME/kiln` (default `~/.cache/kiln`).
 *   blobs/sha256/<hex>       downloaded inputs, named by their own hash and re-verified on every use
 *   trees/<hex>/             an input unpacked once (a .deb or an npm tarball), named by the input's hash
 *   layers/<key>.<ext>       compressed initramfs layers, named by the hash of everything they were made from
 * Everything is written to a temporary name in the same folder and renamed, so an interrupted build never
 * leaves a half-written entry behind.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat, copyFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), '.cache');
  return path.join(base, 'kiln');
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A unique temporary path beside `target`, so the final rename stays on one filesystem. */
export function tempBeside(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

export class Cache {
  readonly root: string;
  constructor(root: string) {
    this.root = root;
  }

  blobPath(hex: string): string {
    return path.join(this.root, 'blobs', 'sha256', hex);
  }

  treePath(hex: string): string {
    return path.join(this.root, 'trees', hex);
  }

  layerPath(key: string, ext: string): string {
    return path.join(this.root, 'layers', `${key}.${ext}`);
  }

  /**
   * The cached blob with this hash, or undefined when absent or corrupt. A corrupt blob
   * (its content no longer matches its name) is deleted so that it is fetched again.
   */
  async verifiedBlob(hex: string): Promise<string | undefined> {
    const file = this.blobPath(hex);
    try {
      await stat(file);
    } catch {
      return undefined;
    }
    if ((await sha256File(file)) === hex) return file;
    await rm(file, { force: true });
    return undefined;
  }

  /** Moves (or copies) a downloaded file into the store under its hash; returns hash and path. */
  async addBlob(file: string): Promise<{ sha256: string; path: string }> {
    const hex = await sha256File(file);
    const dest = this.blobPath(hex);
    await mkdir(path.dirname(dest), { recursive: true });
    const tmp = tempBeside(dest);
    try {
      await rename(file, tmp);
    } catch {
      await copyFile(file, tmp);
    }
    await rename(tmp, dest);
    return { sha256: hex, path: dest };
  }

  /** A fresh scratch folder inside the cache (same filesystem as the store). */
  async scratch(prefix: string): Promise<string> {
    const dir = path.join(this.root, 'tmp', `${prefix}-${process.pid}-${randomBytes(4).toString('hex')}`);
    await mkdir(dir, { recursive: true });
    return dir;
  }
}
