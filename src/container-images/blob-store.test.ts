import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { ImageBlobStore } from './blob-store.js';
import { sha256Of } from './_testing.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kiln-blobs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const blobs = () => readdirSync(path.join(dir, 'blobs', 'sha256'));

describe('ImageBlobStore', () => {
  const store = new ImageBlobStore(dir, 'oci:x:y');
  const data = Buffer.from('layer bytes');
  const digest = sha256Of(data);

  it('stores verified bytes under their digest', async () => {
    const file = await store.putBytes({ digest, size: data.length }, data);
    expect(file).toBe(path.join(dir, 'blobs', 'sha256', digest.slice(7)));
    expect(await store.cached({ digest })).toBe(file);
  });

  it('refuses one flipped byte with both digests, keeping nothing', async () => {
    const flipped = Buffer.from(data);
    flipped[3] ^= 1;
    const want = sha256Of('something else');
    await expect(store.putBytes({ digest: want, size: flipped.length }, flipped)).rejects.toThrow(
      `image "oci:x:y": blob ${want} does not match its digest: found ${sha256Of(flipped)}`,
    );
    expect(blobs()).toEqual([digest.slice(7)]);
  });

  it('refuses a wrong size, and stops reading past the promised size', async () => {
    await expect(store.putBytes({ digest, size: 3 }, data)).rejects.toThrow(`blob ${digest} does not match its digest: found more than the 3 bytes promised`);
    const endless = Readable.from(
      (function* () {
        for (;;) yield Buffer.alloc(1 << 16);
      })(),
    );
    await expect(store.putStream({ digest, size: 100 }, endless)).rejects.toThrow('found more than the 100 bytes promised');
    expect(blobs()).toEqual([digest.slice(7)]);
  });
});
