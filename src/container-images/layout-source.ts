/**
 * Images in an OCI image layout folder (`oci:<dir>[:<tag>]`), and in a tar of one (`oci-archive:`), which is
 * unpacked into a scratch folder in the cache first (node-tar; absolute paths and ".." are refused by it).
 * A tag is matched against the `org.opencontainers.image.ref.name` annotation of index.json's entries.
 */
import { readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import * as tar from 'tar';
import { Cache } from '../inputs/cache.js';
import { KilnError } from '../util/errors.js';
import { hexOf, MAX_MANIFEST_BYTES, type ImageBlobStore } from './blob-store.js';
import { decodeManifest, type Descriptor } from './manifest.js';
import type { Arch } from './platform.js';
import { listPlatforms, selectPlatform } from './platform.js';
import type { FetchedManifest, ImageSource } from './source.js';

export const REF_NAME = 'org.opencontainers.image.ref.name';

/** The entry of index.json a tag names (or the only one); throws a KilnError listing the tags otherwise. Pure. */
export function findLayoutEntry(ref: string, manifests: readonly Descriptor[], tag: string | undefined, arch: Arch): Descriptor {
  const tags = [...new Set(manifests.map((m) => m.annotations?.[REF_NAME]).filter((t): t is string => t !== undefined))];
  const listed = tags.length ? tags.join(', ') : 'none';
  const candidates = tag === undefined ? manifests : manifests.filter((m) => m.annotations?.[REF_NAME] === tag);
  if (candidates.length === 1) return candidates[0];
  if (candidates.length === 0 && tag !== undefined) {
    throw new KilnError('IMAGE_NOT_FOUND', `image "${ref}": no tag "${tag}" in the layout (tags: ${listed})`, {
      hint: 'write one of the tags after the path, e.g. oci:<dir>:<tag>',
    });
  }
  if (candidates.length === 0)
    throw new KilnError('IMAGE_NOT_FOUND', `image "${ref}": the layout's index.json lists no images`, {
      hint: 'copy an image into it, e.g. skopeo copy ... oci:<dir>:<tag>',
    });
  // Several entries: either one tag per architecture, or no tag given among several images.
  if (tag !== undefined && candidates.every((m) => m.platform)) {
    const chosen = selectPlatform(candidates, arch);
    if (chosen) return chosen;
    throw new KilnError('IMAGE_ARCH', `image "${ref}": no ${arch} image (platforms: ${listPlatforms(candidates)})`, {
      hint: "add an image for this architecture to the layout, or change the config's arch",
    });
  }
  throw new KilnError('IMAGE_AMBIGUOUS', `image "${ref}": the layout holds ${candidates.length} images; name one (tags: ${listed})`, {
    hint: 'write the tag after the path, e.g. oci:<dir>:<tag>',
  });
}

export class LayoutSource implements ImageSource {
  private readonly ref: string;
  private readonly dir: string;
  private readonly tag: string | undefined;
  private readonly arch: Arch;
  /** Set for an unpacked archive: blobs are moved out of it, and it is deleted on close. */
  private readonly scratch: string | undefined;

  private constructor(ref: string, dir: string, tag: string | undefined, arch: Arch, scratch?: string) {
    this.ref = ref;
    this.dir = dir;
    this.tag = tag;
    this.arch = arch;
    this.scratch = scratch;
  }

  static async openFolder(ref: string, dir: string, tag: string | undefined, arch: Arch): Promise<LayoutSource> {
    await requireLayout(ref, dir, 'folder');
    return new LayoutSource(ref, dir, tag, arch);
  }

  static async openArchive(ref: string, file: string, tag: string | undefined, arch: Arch, cacheDir: string): Promise<LayoutSource> {
    const scratch = await unpackArchive(ref, file, cacheDir);
    try {
      await requireLayout(ref, scratch, 'archive');
    } catch (err) {
      await rm(scratch, { recursive: true, force: true });
      throw err;
    }
    return new LayoutSource(ref, scratch, tag, arch, scratch);
  }

  async top(): Promise<FetchedManifest> {
    const indexFile = path.join(this.dir, 'index.json');
    let index;
    try {
      index = decodeManifest(await readFile(indexFile));
    } catch (err) {
      throw new KilnError('IMAGE_INVALID', `image "${this.ref}": index.json: ${(err as Error).message}`, {
        hint: 'the layout is damaged; copy the image into it again',
      });
    }
    if (index.kind !== 'index')
      throw new KilnError('IMAGE_INVALID', `image "${this.ref}": index.json is not an image index`, {
        hint: 'the layout is damaged; copy the image into it again',
      });
    const entry = findLayoutEntry(this.ref, index.manifests, this.tag, this.arch);
    const fetched = await this.manifest(entry.digest);
    return { ...fetched, mediaType: entry.mediaType, expected: { digest: entry.digest, size: entry.size } };
  }

  async manifest(digest: string): Promise<FetchedManifest> {
    const file = this.blobFile(digest);
    const size = await sizeOf(file);
    if (size === undefined) {
      throw new KilnError('IMAGE_NOT_FOUND', `image "${this.ref}": manifest ${digest} is not in the layout`, {
        hint: 'the image was replaced or removed; re-pin it with `kiln lock --update`',
      });
    }
    if (size > MAX_MANIFEST_BYTES)
      throw new KilnError('IMAGE_INVALID', `image "${this.ref}": manifest ${digest} is ${size} bytes, more than a manifest can be`, {
        hint: 'the layout is damaged',
      });
    return { bytes: await readFile(file) };
  }

  async blob(descriptor: Descriptor, store: ImageBlobStore): Promise<string> {
    const file = this.blobFile(descriptor.digest);
    if ((await sizeOf(file)) === undefined) {
      throw new KilnError('IMAGE_NOT_FOUND', `image "${this.ref}": blob ${descriptor.digest} is missing from the layout`, {
        hint: 'the layout is incomplete; copy the image into it again',
      });
    }
    return store.putFile(descriptor, file, { move: this.scratch !== undefined });
  }

  async close(): Promise<void> {
    if (this.scratch) await rm(this.scratch, { recursive: true, force: true });
  }

  private blobFile(digest: string): string {
    return path.join(this.dir, 'blobs', 'sha256', hexOf(digest));
  }
}

async function requireLayout(ref: string, dir: string, kind: 'folder' | 'archive'): Promise<void> {
  const inside = kind === 'folder' ? dir : 'the archive';
  let layout: unknown;
  try {
    layout = JSON.parse(await readFile(path.join(dir, 'oci-layout'), 'utf8'));
  } catch {
    throw new KilnError('IMAGE_INVALID', `image "${ref}": ${inside} is not an OCI image layout (no oci-layout file)`, {
      hint:
        kind === 'folder'
          ? 'point oci: at a folder written by skopeo, umoci or buildah'
          : 'make it with skopeo copy ... oci-archive:<file>, or use docker-archive: for `docker save` output',
    });
  }
  const version = (layout as { imageLayoutVersion?: unknown }).imageLayoutVersion;
  if (version !== '1.0.0')
    throw new KilnError('IMAGE_INVALID', `image "${ref}": unsupported OCI layout version ${JSON.stringify(version)}`, {
      hint: 'kiln reads imageLayoutVersion 1.0.0',
    });
}

/** Unpacks a tar into a fresh scratch folder of the cache (same filesystem, so blobs can be renamed out). */
export async function unpackArchive(ref: string, file: string, cacheDir: string): Promise<string> {
  const scratch = await new Cache(cacheDir).scratch('image');
  try {
    await tar.x({ file, cwd: scratch, preservePaths: false, strict: true });
  } catch (err) {
    await rm(scratch, { recursive: true, force: true });
    throw new KilnError('IMAGE_INVALID', `image "${ref}": cannot read ${file} as a tar archive (${(err as Error).message})`, {
      hint: 'check the file; it should come from skopeo copy or docker save',
    });
  }
  return scratch;
}

async function sizeOf(file: string): Promise<number | undefined> {
  try {
    const s = await stat(file);
    return s.isFile() ? s.size : undefined;
  } catch {
    return undefined;
  }
}
