/**
 * writeOciLayout: resolved images → an OCI image layout folder (what the device's blob store is seeded with,
 * and what skopeo, umoci and containerd read): `oci-layout`, `index.json` with one entry per image named by
 * its `org.opencontainers.image.ref.name` annotation, and `blobs/sha256/<hex>` hard-linked from the cache
 * (copied when the layout is on another filesystem). index.json is written last, under a temporary name, so
 * the folder never names a blob it lacks. An existing index.json is replaced: the layout holds exactly `images`.
 */
import { copyFile, link, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tempBeside } from '../inputs/cache.js';
import { hexOf } from './blob-store.js';
import { REF_NAME } from './layout-source.js';
import { OCI_INDEX } from './media-types.js';
import type { ResolvedImage } from './resolve.js';

export interface LayoutImage {
  /** The tag in the layout: `oci:<dir>:<name>`. */
  name: string;
  image: ResolvedImage;
}

/**
 * Writes (or rewrites) an OCI image layout holding `images`.
 * @example await writeOciLayout('out/images', [{ name: 'app', image: await resolveImage('oci:app:1', opts) }]); // skopeo inspect oci:out/images:app
 */
export async function writeOciLayout(dir: string, images: readonly LayoutImage[]): Promise<void> {
  const names = new Set<string>();
  for (const { name } of images) {
    if (!/^[A-Za-z0-9][\w.:/-]*$/.test(name)) throw new TypeError(`writeOciLayout: "${name}" is not a usable image name`);
    if (names.has(name)) throw new TypeError(`writeOciLayout: image name "${name}" given twice`);
    names.add(name);
  }
  await mkdir(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  for (const { image } of images) {
    const digests = [image.manifestDigest, image.configDigest, ...image.layers.map((l) => l.digest)];
    for (const digest of digests) await placeBlob(image.blobPath(digest), path.join(dir, 'blobs', 'sha256', hexOf(digest)));
  }
  await writeAtomic(path.join(dir, 'oci-layout'), `${JSON.stringify({ imageLayoutVersion: '1.0.0' })}\n`);
  const index = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: images.map(({ name, image }) => ({
      mediaType: image.manifestMediaType,
      digest: image.manifestDigest,
      size: image.manifest.length,
      platform: { architecture: image.platform.architecture, os: image.platform.os, ...(image.platform.variant ? { variant: image.platform.variant } : {}) },
      annotations: { [REF_NAME]: name },
    })),
  };
  await writeAtomic(path.join(dir, 'index.json'), `${JSON.stringify(index, null, 2)}\n`);
}

/** Content-addressed: a blob already there with the right size is the same blob. */
async function placeBlob(from: string, to: string): Promise<void> {
  const want = (await stat(from)).size;
  const have = await stat(to).then(
    (s) => s.size,
    () => undefined,
  );
  if (have === want) return;
  const tmp = tempBeside(to);
  try {
    await link(from, tmp).catch(() => copyFile(from, tmp));
    await rename(tmp, to);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = tempBeside(file);
  await writeFile(tmp, text);
  await rename(tmp, file);
}
