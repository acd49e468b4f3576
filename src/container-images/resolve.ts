/**
 * resolveImage: an image reference → a verified image in kiln's cache, for one architecture.
 *
 * Without a pin the tag is resolved and the manifest digest to pin is returned; with one, exactly that
 * manifest is fetched. Every blob — index, manifest, config, layers — is stored under its digest only after
 * its bytes hash to it (and its size is the descriptor's), so what is returned can be trusted as named.
 * A pinned image whose blobs are all cached is resolved without touching its source (no network).
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { KilnError } from '../util/errors.js';
import { ImageBlobStore } from './blob-store.js';
import { DockerArchiveSource } from './docker-archive-source.js';
import { LayoutSource } from './layout-source.js';
import { decodeImageConfig, decodeManifest, type Descriptor, type ImageIndex, type ImageManifest, type Platform } from './manifest.js';
import { formatPlatform, listPlatforms, platformMatches, selectPlatform, type Arch } from './platform.js';
import { DIGEST_PATTERN, parseImageRef, type ImageRef } from './reference.js';
import { RegistrySource } from './registry-source.js';
import type { ImageSource } from './source.js';

export interface ResolveImageOptions {
  arch: Arch;
  /** Folder that oci:, oci-archive: and docker-archive: paths are relative to (the config's). */
  configDir: string;
  /** The manifest digest kiln.lock pins ("sha256:<hex>"); an index digest is accepted too. */
  pinned?: string;
  /** kiln's cache root (`cacheRoot()`); blobs go to `<cacheDir>/blobs/sha256/<hex>`. */
  cacheDir: string;
  onProgress?: (message: string) => void;
}

export interface ImageLayer {
  digest: string;
  size: number;
  /** As published: tar, tar+gzip or tar+zstd (see layerCompression). */
  mediaType: string;
}

export interface ResolvedImage {
  ref: string;
  /** Digest of the architecture's image manifest: the value to pin. */
  manifestDigest: string;
  manifestMediaType: string;
  manifest: Buffer;
  /** Set when the reference named an index (multi-architecture image): the index's digest. */
  indexDigest?: string;
  config: Buffer;
  configDigest: string;
  /** The platform the image config declares. */
  platform: Platform;
  /** Bottom layer first. */
  layers: ImageLayer[];
  /** Path of a verified blob in the cache. */
  blobPath(digest: string): string;
}

/** Fetches blobs and manifests by descriptor: from the cache only, or from the source through the cache. */
interface Blobs {
  manifest(descriptor: Descriptor): Promise<Buffer | undefined>;
  blob(descriptor: Descriptor): Promise<string | undefined>;
}

/**
 * Resolves and caches an image; throws a one-line KilnError naming the reference on any problem.
 * @example
 * const image = await resolveImage('ghcr.io/acme/app:1.2', { arch: 'x86_64', configDir: '.', cacheDir: cacheRoot() });
 * image.manifestDigest // "sha256:..." → kiln.lock
 */
export async function resolveImage(ref: string, opts: ResolveImageOptions): Promise<ResolvedImage> {
  const parsed = parseImageRef(ref);
  const pinned = pinOf(ref, parsed, opts.pinned);
  const store = new ImageBlobStore(opts.cacheDir, ref);

  if (pinned) {
    const cached: Blobs = {
      manifest: async (d) => ((await store.cached(d)) ? store.read(d.digest) : undefined),
      blob: (d) => store.cached(d),
    };
    const top = (await store.cached({ digest: pinned })) ? await store.read(pinned) : undefined;
    const warm = top && (await walk(ref, opts.arch, store, cached, top, undefined, pinned));
    if (warm) {
      opts.onProgress?.(`image ${ref}: ${pinned.slice(0, 19)} from the cache`);
      return warm;
    }
  }

  const source = await openSource(ref, parsed, opts);
  try {
    const top = pinned ? await source.manifest(pinned) : await source.top();
    const expected = pinned ? { digest: pinned } : (top.expected ?? { digest: `sha256:${createHash('sha256').update(top.bytes).digest('hex')}` });
    await store.putBytes(expected, top.bytes);
    const fetching: Blobs = {
      async manifest(d) {
        if (await store.cached(d)) return store.read(d.digest);
        await store.putBytes(d, (await source.manifest(d.digest)).bytes);
        return store.read(d.digest);
      },
      blob: async (d) => (await store.cached(d)) ?? source.blob(d, store),
    };
    const image = await walk(ref, opts.arch, store, fetching, top.bytes, top.mediaType, expected.digest);
    if (!image) throw new Error('unreachable: a fetching walk always completes');
    return image;
  } finally {
    await source.close();
  }
}

function pinOf(ref: string, parsed: ImageRef, pinned: string | undefined): string | undefined {
  if (pinned !== undefined && !DIGEST_PATTERN.test(pinned)) {
    throw new KilnError('IMAGE_PIN', `image "${ref}": pinned digest "${pinned}" is not sha256:<64 hex digits>`, {
      hint: 'fix kiln.lock, or re-pin with `kiln lock --update`',
    });
  }
  const inRef = parsed.transport === 'registry' ? parsed.digest : undefined;
  if (pinned && inRef && pinned !== inRef) {
    throw new KilnError('IMAGE_PIN', `image "${ref}": kiln.lock pins ${pinned}, the reference names ${inRef}`, { hint: 're-pin with `kiln lock --update`' });
  }
  return pinned ?? inRef;
}

async function openSource(ref: string, parsed: ImageRef, opts: ResolveImageOptions): Promise<ImageSource> {
  if (parsed.transport === 'registry') return new RegistrySource(ref, parsed, opts.onProgress);
  const where = path.resolve(opts.configDir, parsed.path);
  const kind = parsed.transport === 'oci' ? 'folder' : 'file';
  let isDir: boolean;
  try {
    isDir = (await stat(where)).isDirectory();
  } catch {
    throw new KilnError('IMAGE_NOT_FOUND', `image "${ref}": no such ${kind} ${where}`, {
      hint: `${parsed.transport}: paths are relative to the config's folder (${opts.configDir})`,
    });
  }
  if (isDir !== (kind === 'folder'))
    throw new KilnError('IMAGE_INVALID', `image "${ref}": ${where} is not a ${kind}`, {
      hint: 'oci: names a layout folder; oci-archive: and docker-archive: name tar files',
    });
  opts.onProgress?.(`image ${ref}: reading ${where}`);
  if (parsed.transport === 'docker-archive') return DockerArchiveSource.open(ref, where, parsed.name, opts.cacheDir);
  if (parsed.transport === 'oci') return LayoutSource.openFolder(ref, where, parsed.tag, opts.arch);
  return LayoutSource.openArchive(ref, where, parsed.tag, opts.arch, opts.cacheDir);
}

/** Follows indexes to the architecture's manifest, then gets config and layers; undefined when a blob is missing. */
async function walk(
  ref: string,
  arch: Arch,
  store: ImageBlobStore,
  blobs: Blobs,
  bytes: Buffer,
  mediaType: string | undefined,
  digest: string,
): Promise<ResolvedImage | undefined> {
  let doc = decode(ref, bytes, mediaType, digest);
  let indexDigest: string | undefined;
  // Indexes may nest (an index.json entry naming a multi-arch index); a few levels is plenty.
  for (let depth = 0; doc.kind === 'index'; depth++) {
    if (depth === 4) throw new KilnError('IMAGE_INVALID', `image "${ref}": indexes nested too deep`, { hint: 'check the image' });
    indexDigest ??= digest;
    const chosen = selectPlatform(doc.manifests, arch);
    if (!chosen) {
      throw new KilnError('IMAGE_ARCH', `image "${ref}": no linux ${arch} image (platforms: ${listPlatforms(doc.manifests)})`, {
        hint: "use an image built for this architecture, or change the config's arch",
      });
    }
    const next = await blobs.manifest(chosen);
    if (!next) return undefined;
    bytes = next;
    digest = chosen.digest;
    doc = decode(ref, bytes, chosen.mediaType, digest);
  }
  const manifest = doc;
  const configPath = await blobs.blob(manifest.config);
  if (!configPath) return undefined;
  const config = await readFile(configPath);
  let platform: Platform;
  try {
    platform = decodeImageConfig(config);
  } catch (err) {
    throw new KilnError('IMAGE_INVALID', `image "${ref}": config ${manifest.config.digest}: ${(err as Error).message}`, {
      hint: 'the image is damaged; rebuild it',
    });
  }
  if (!platformMatches(platform, arch)) {
    throw new KilnError('IMAGE_ARCH', `image "${ref}": the image is ${formatPlatform(platform)}, not linux ${arch}`, {
      hint: "use an image built for this architecture (or a multi-architecture one), or change the config's arch",
    });
  }
  for (const layer of manifest.layers) {
    if (!(await blobs.blob(layer))) return undefined;
  }
  return {
    ref,
    manifestDigest: digest,
    manifestMediaType: manifest.mediaType,
    manifest: bytes,
    ...(indexDigest ? { indexDigest } : {}),
    config,
    configDigest: manifest.config.digest,
    platform,
    layers: manifest.layers.map(({ digest, size, mediaType }) => ({ digest, size, mediaType })),
    blobPath: (d) => store.path(d),
  };
}

function decode(ref: string, bytes: Buffer, mediaType: string | undefined, digest: string): ImageManifest | ImageIndex {
  try {
    return decodeManifest(bytes, mediaType);
  } catch (err) {
    throw new KilnError('IMAGE_INVALID', `image "${ref}": manifest ${digest}: ${(err as Error).message}`, {
      hint: 'the image is damaged or not a container image',
    });
  }
}
