/**
 * Image blobs (manifests, configs, layers) in kiln's content-addressed cache, `blobs/sha256/<hex>` — the same
 * store as the other inputs. Nothing enters it unverified: content is hashed and counted while it is written
 * to a temporary name beside its place, and only renamed into place when digest and size are what the
 * manifest promised. A mismatch deletes the temporary file and throws a KilnError naming the image.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Cache, sha256File, tempBeside } from '../inputs/cache.js';
import { KilnError } from '../util/errors.js';

export interface Expected {
  digest: string;
  /** Checked when known (descriptors always say it; a manifest fetched by tag does not). */
  size?: number;
}

/** Manifests and configs are small; a larger "manifest" is refused before it fills memory. */
export const MAX_MANIFEST_BYTES = 4 << 20;

export class ImageBlobStore {
  readonly cache: Cache;
  /** The reference every error names. */
  readonly ref: string;
  constructor(cacheDir: string, ref: string) {
    this.cache = new Cache(cacheDir);
    this.ref = ref;
  }

  path(digest: string): string {
    return this.cache.blobPath(hexOf(digest));
  }

  /** The verified cached blob, or undefined; a corrupt one is deleted so it is fetched again. */
  async cached(expected: Expected): Promise<string | undefined> {
    const file = await this.cache.verifiedBlob(hexOf(expected.digest));
    if (file && expected.size !== undefined && (await stat(file)).size !== expected.size) {
      throw this.mismatch(expected, expected.digest, (await stat(file)).size);
    }
    return file;
  }

  /** Reads a small verified blob (manifest, config) from the store. */
  async read(digest: string): Promise<Buffer> {
    return readFile(this.path(digest));
  }

  /** Writes a stream into the store, verified against `expected`; returns the blob's path. */
  async putStream(expected: Expected, source: AsyncIterable<Uint8Array> | NodeJS.ReadableStream, onBytes?: (n: number) => void): Promise<string> {
    const dest = this.path(expected.digest);
    await mkdir(path.dirname(dest), { recursive: true });
    const tmp = tempBeside(dest);
    const hash = createHash('sha256');
    let size = 0;
    const limit = expected.size ?? Number.MAX_SAFE_INTEGER;
    const store = this;
    try {
      await pipeline(
        Readable.from(source as AsyncIterable<Uint8Array>),
        async function* (chunks: AsyncIterable<Buffer>) {
          for await (const chunk of chunks) {
            size += chunk.length;
            // More bytes than promised: stop now rather than fill the disk.
            if (size > limit) throw store.mismatch(expected, undefined, size);
            hash.update(chunk);
            onBytes?.(size);
            yield chunk;
          }
        },
        createWriteStream(tmp),
      );
      const found = `sha256:${hash.digest('hex')}`;
      if (found !== expected.digest || (expected.size !== undefined && size !== expected.size)) throw this.mismatch(expected, found, size);
      await rename(tmp, dest);
      return dest;
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  /** Stores bytes already in memory (a manifest fetched by tag, a converted docker-archive manifest). */
  async putBytes(expected: Expected, bytes: Uint8Array): Promise<string> {
    return this.putStream(expected, Readable.from([bytes]));
  }

  /**
   * Stores a file: moved when `move` (a scratch file on the cache's filesystem), else copied. Either way it is
   * verified before it takes its name.
   */
  async putFile(expected: Expected, file: string, options: { move?: boolean } = {}): Promise<string> {
    if (!options.move) return this.putStream(expected, createReadStream(file, { highWaterMark: 1 << 20 }));
    const found = `sha256:${await sha256File(file)}`;
    const size = (await stat(file)).size;
    if (found !== expected.digest || (expected.size !== undefined && size !== expected.size)) throw this.mismatch(expected, found, size);
    const dest = this.path(expected.digest);
    await mkdir(path.dirname(dest), { recursive: true });
    try {
      await rename(file, dest);
    } catch {
      return this.putStream(expected, createReadStream(file));
    }
    return dest;
  }

  mismatch(expected: Expected, found: string | undefined, size: number): KilnError {
    const sizes = expected.size !== undefined && size !== expected.size ? ` (${size} bytes, expected ${expected.size})` : '';
    const what = found ? `found ${found}${sizes}` : `found more than the ${expected.size} bytes promised`;
    return new KilnError('IMAGE_DIGEST', `image "${this.ref}": blob ${expected.digest} does not match its digest: ${what}`, {
      hint: 'the source is corrupt or changed under the same name; if the image was rebuilt on purpose, re-pin it with `kiln lock --update`',
    });
  }
}

/** "sha256:<hex>" → "<hex>"; only sha256 is accepted (callers have checked the pattern). */
export function hexOf(digest: string): string {
  if (!digest.startsWith('sha256:')) throw new TypeError(`unsupported digest algorithm: ${digest}`);
  return digest.slice('sha256:'.length);
}
