/**
 * An OCI image layout (image-spec image-layout.md) on the device: `oci-layout`, `index.json` and
 * `blobs/<alg>/<hex>`. Every blob read is checked against its descriptor's size and digest — while streaming for
 * layers — so a bit flip on the disk or a half-copied blob is an error naming both digests, never a wrong rootfs.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { BlobMismatchError, ImageStoreError } from './image-errors.ts';
import { parseImageConfig, type ImageConfig } from './image-config.ts';
import { INDEX_TYPES } from '../contract/oci/media-types.ts';

export { BlobMismatchError, ImageStoreError };

export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

const digestSchema = z.string().regex(/^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/, 'expected sha256:<64 hex> or sha512:<128 hex>');
const platformSchema = z.object({ architecture: z.string(), os: z.string(), variant: z.string().optional() });
const descriptorSchema = z.object({
  mediaType: z.string(),
  digest: digestSchema,
  size: z.number().int().min(0),
  annotations: z.record(z.string(), z.string()).optional(),
  platform: platformSchema.optional(),
});
const indexSchema = z.object({ schemaVersion: z.literal(2), manifests: z.array(descriptorSchema) });
const manifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
});

export type Descriptor = z.infer<typeof descriptorSchema>;
export type ImageManifest = z.infer<typeof manifestSchema>;

export interface ImageStore {
  readonly dir: string;
  /** index.json's manifests, as listed. */
  readonly manifests: readonly Descriptor[];
  /**
   * The image manifest named `ref` (its `org.opencontainers.image.ref.name`) or with that digest; an image index
   * there is resolved to the manifest for `platform` (default: linux and this machine's architecture).
   */
  findManifest(ref: string, platform?: { os: string; architecture: string }): Promise<Descriptor>;
  /** A small blob, verified. */
  readBlob(descriptor: Descriptor): Promise<Buffer>;
  /** A blob streamed from its file; the iteration throws `BlobMismatchError` at the end if it does not match. */
  openBlob(descriptor: Descriptor): AsyncIterable<Buffer>;
  /** Reads the whole blob only to check it: throws `BlobMismatchError` (or the read error). */
  verifyBlob(descriptor: Descriptor): Promise<void>;
  readManifest(descriptor: Descriptor): Promise<ImageManifest>;
  readConfig(manifest: ImageManifest): Promise<ImageConfig>;
  blobPath(digest: string): string;
}

/** OCI architecture names for Node's `process.arch`. */
const OCI_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', riscv64: 'riscv64', ppc64: 'ppc64le', s390x: 's390x' };

/**
 * Opens the OCI image layout in `dir`: reads `oci-layout` and `index.json`. Blobs are read on demand.
 * @example const store = await openImageStore('/data/images'); const m = await store.findManifest('web:1.2')
 */
export async function openImageStore(dir: string): Promise<ImageStore> {
  const layout = await readJson(path.join(dir, 'oci-layout'));
  if ((layout as { imageLayoutVersion?: unknown } | null)?.imageLayoutVersion !== '1.0.0') {
    throw new ImageStoreError(`${dir}: oci-layout: expected imageLayoutVersion "1.0.0"`);
  }
  const index = parse(indexSchema, await readJson(path.join(dir, 'index.json')), path.join(dir, 'index.json'));

  const blobPath = (digest: string): string => {
    parse(digestSchema, digest, 'digest');
    const [algorithm, hex] = digest.split(':') as [string, string];
    return path.join(dir, 'blobs', algorithm, hex);
  };

  async function* openBlob(descriptor: Descriptor): AsyncGenerator<Buffer> {
    const file = blobPath(descriptor.digest);
    const algorithm = descriptor.digest.slice(0, descriptor.digest.indexOf(':'));
    const hash = createHash(algorithm);
    let size = 0;
    for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > descriptor.size) throw new BlobMismatchError(descriptor.digest, 'size', `${descriptor.size} bytes`, `more`);
      hash.update(chunk);
      yield chunk;
    }
    if (size !== descriptor.size) throw new BlobMismatchError(descriptor.digest, 'size', `${descriptor.size} bytes`, `${size} bytes`);
    const found = `${algorithm}:${hash.digest('hex')}`;
    if (found !== descriptor.digest) throw new BlobMismatchError(descriptor.digest, 'digest', descriptor.digest, found);
  }

  const readBlob = async (descriptor: Descriptor): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    for await (const chunk of openBlob(descriptor)) chunks.push(chunk);
    return Buffer.concat(chunks);
  };

  const readIndexBlob = async (descriptor: Descriptor): Promise<z.infer<typeof indexSchema>> =>
    parse(indexSchema, jsonOf(await readBlob(descriptor), descriptor.digest), descriptor.digest);

  const findManifest = async (ref: string, platform?: { os: string; architecture: string }): Promise<Descriptor> => {
    const wanted = platform ?? { os: 'linux', architecture: OCI_ARCH[process.arch] ?? process.arch };
    const byDigest = digestSchema.safeParse(ref).success;
    const search = async (manifests: readonly Descriptor[], depth: number): Promise<Descriptor | undefined> => {
      for (const d of manifests) {
        if (byDigest ? d.digest === ref : d.annotations?.[REF_NAME_ANNOTATION] === ref) return d;
        if (byDigest && INDEX_TYPES.includes(d.mediaType) && depth < 4) {
          const found = await search((await readIndexBlob(d)).manifests, depth + 1);
          if (found !== undefined) return found;
        }
      }
      return undefined;
    };
    const named = await search(index.manifests, 0);
    if (named === undefined) {
      const names = index.manifests.map((d) => d.annotations?.[REF_NAME_ANNOTATION]).filter((n) => n !== undefined);
      throw new ImageStoreError(
        `${dir}: no image ${JSON.stringify(ref)}; the store has ${names.length === 0 ? 'no named images' : names.map((n) => JSON.stringify(n)).join(', ')}`,
      );
    }
    let found: Descriptor = named;
    for (let depth = 0; INDEX_TYPES.includes(found.mediaType); depth++) {
      if (depth >= 4) throw new ImageStoreError(`${dir}: image index ${found.digest} nests too deep`);
      const sub: Descriptor[] = (await readIndexBlob(found)).manifests;
      const match: Descriptor | undefined = sub.find((d) => d.platform?.os === wanted.os && d.platform.architecture === wanted.architecture);
      if (match === undefined) {
        const have = sub.map((d) => (d.platform === undefined ? '?' : `${d.platform.os}/${d.platform.architecture}`)).join(', ');
        throw new ImageStoreError(`${dir}: image ${JSON.stringify(ref)} has no ${wanted.os}/${wanted.architecture} manifest (has ${have})`);
      }
      found = match;
    }
    return found;
  };

  return {
    dir,
    manifests: index.manifests,
    findManifest,
    readBlob,
    openBlob,
    verifyBlob: async (descriptor) => {
      for await (const chunk of openBlob(descriptor)) void chunk;
    },
    blobPath,
    readManifest: async (descriptor) => parse(manifestSchema, jsonOf(await readBlob(descriptor), descriptor.digest), `manifest ${descriptor.digest}`),
    readConfig: async (manifest) => parseImageConfig(await readBlob(manifest.config)),
  };
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ImageStoreError(`Cannot read ${file}: ${(error as Error).message}`);
  }
  return jsonOf(Buffer.from(text), file);
}

function jsonOf(bytes: Buffer, where: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new ImageStoreError(`${where}: not JSON: ${(error as Error).message}`);
  }
}

function parse<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new ImageStoreError(`${where}: ${issue.path.join('.') || '(top)'}: ${issue.message}`);
}

export { prepareRootfs, type PreparedRootfs, type PrepareRootfsOptions } from './prepare-rootfs.ts';
