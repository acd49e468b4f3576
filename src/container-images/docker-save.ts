/**
 * `docker save` archives (also skopeo's docker-archive): a manifest.json listing, per image, its config file
 * and its layer files in order. kiln presents such an image as an OCI manifest: the config blob as it is,
 * each layer file as it is (its digest is the digest of the file; its media type from its first bytes).
 * Pure: the caller reads the files and hashes them.
 */
import { z } from 'zod';
import { OCI_CONFIG, OCI_MANIFEST } from './media-types.js';
import type { Descriptor } from './manifest.js';

const entrySchema = z.object({ Config: z.string().min(1), RepoTags: z.array(z.string()).nullish(), Layers: z.array(z.string().min(1)) });
export type DockerSaveEntry = z.infer<typeof entrySchema>;

/** Decodes manifest.json; a TypeError "Cannot decode docker-archive manifest.json: ..." when it is not one. */
export function decodeDockerSaveManifest(bytes: Uint8Array): DockerSaveEntry[] {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new TypeError(`Cannot decode docker-archive manifest.json: not JSON (${(err as Error).message})`);
  }
  const result = z.array(entrySchema).min(1).safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new TypeError(`Cannot decode docker-archive manifest.json: ${issue.path.join('.') || '(top)'}: ${issue.message}`);
  }
  return result.data;
}

/** Every "name:tag" in the archive, for messages. */
export function dockerSaveTags(entries: readonly DockerSaveEntry[]): string[] {
  return entries.flatMap((e) => e.RepoTags ?? []);
}

/**
 * The entry for `name` ("repo:tag", matched with or without a "docker.io/" or "docker.io/library/" prefix,
 * as `docker save` strips them), or the only entry when no name is given; undefined otherwise.
 */
export function selectDockerSaveEntry(entries: readonly DockerSaveEntry[], name?: string): DockerSaveEntry | undefined {
  if (name === undefined) return entries.length === 1 ? entries[0] : undefined;
  // `docker save` writes "busybox:1", skopeo "docker.io/library/busybox:1": compare without the default registry.
  const short = (tag: string) => tag.replace(/^docker\.io\/(library\/)?/, '');
  return entries.find((e) => (e.RepoTags ?? []).some((t) => short(t) === short(name)));
}

/**
 * The OCI manifest kiln makes for a docker-archive image: compact JSON with a fixed key order, so the same
 * archive always gives the same manifest digest (which kiln.lock pins).
 */
export function encodeOciManifest(config: Omit<Descriptor, 'mediaType'>, layers: readonly Descriptor[]): Buffer {
  const descriptor = (d: Descriptor) => ({ mediaType: d.mediaType, digest: d.digest, size: d.size });
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: descriptor({ mediaType: OCI_CONFIG, digest: config.digest, size: config.size }),
      layers: layers.map(descriptor),
    }),
  );
}
