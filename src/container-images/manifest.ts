/**
 * Decoding image manifests, indexes and configs (OCI image-spec v1 and Docker v2 schema 2) from their JSON
 * bytes. Pure: the callers fetch; a shape error is a TypeError "Cannot decode image manifest: <path>: <why>",
 * which resolveImage turns into a KilnError naming the reference.
 */
import { z } from 'zod';
import { DIGEST_PATTERN } from './reference.js';
import { CONFIG_TYPES, INDEX_TYPES, MANIFEST_TYPES, OCI_INDEX, OCI_MANIFEST, layerCompression } from './media-types.js';

const platformSchema = z.object({ architecture: z.string(), os: z.string(), variant: z.string().optional() });
const descriptorSchema = z.object({
  mediaType: z.string(),
  digest: z.string().regex(DIGEST_PATTERN, 'expected "sha256:" and 64 lowercase hex digits'),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  platform: platformSchema.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});
const manifestSchema = z.object({ schemaVersion: z.literal(2), mediaType: z.string().optional(), config: descriptorSchema, layers: z.array(descriptorSchema) });
const indexSchema = z.object({ schemaVersion: z.literal(2), mediaType: z.string().optional(), manifests: z.array(descriptorSchema) });
const configSchema = z.object({ architecture: z.string(), os: z.string(), variant: z.string().optional() });

export type Platform = z.infer<typeof platformSchema>;
export type Descriptor = z.infer<typeof descriptorSchema>;
export type ImageManifest = { kind: 'manifest'; mediaType: string; config: Descriptor; layers: Descriptor[] };
export type ImageIndex = { kind: 'index'; mediaType: string; manifests: Descriptor[] };

function decodeJson(bytes: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new TypeError(`Cannot decode ${what}: not JSON (${(err as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError(`Cannot decode ${what}: not a JSON object`);
  return value as Record<string, unknown>;
}

function check<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue.path.length ? issue.path.join('.') : '(top)';
  throw new TypeError(`Cannot decode ${what}: ${where}: ${issue.message}`);
}

/**
 * Decodes a manifest or an index. `mediaType` is what the container said (a registry's Content-Type, a
 * descriptor's mediaType); the document's own field wins, and without either the shape decides.
 * @example decodeManifest(bytes, OCI_INDEX) // { kind: 'index', manifests: [...] }
 */
export function decodeManifest(bytes: Uint8Array, mediaType?: string): ImageManifest | ImageIndex {
  const json = decodeJson(bytes, 'image manifest');
  if (json.schemaVersion === 1)
    throw new TypeError('Cannot decode image manifest: Docker schema 1 is not supported (push the image again with a current Docker, buildah or skopeo)');
  const declared = typeof json.mediaType === 'string' ? json.mediaType : mediaType?.split(';')[0].trim();
  const type = declared && (INDEX_TYPES.includes(declared) || MANIFEST_TYPES.includes(declared)) ? declared : 'manifests' in json ? OCI_INDEX : OCI_MANIFEST;
  if (declared && declared !== type && !['application/json', 'application/octet-stream', 'text/plain'].includes(declared)) {
    throw new TypeError(`Cannot decode image manifest: media type ${declared} is not an image manifest or index`);
  }
  if (INDEX_TYPES.includes(type)) return { kind: 'index', mediaType: type, manifests: check(indexSchema, json, 'image index').manifests };
  const manifest = check(manifestSchema, json, 'image manifest');
  if (!CONFIG_TYPES.includes(manifest.config.mediaType)) {
    throw new TypeError(`Cannot decode image manifest: config media type ${manifest.config.mediaType} is not a container image (an artifact?)`);
  }
  manifest.layers.forEach((layer, i) => {
    if (layerCompression(layer.mediaType) === undefined)
      throw new TypeError(`Cannot decode image manifest: layers.${i}: media type ${layer.mediaType} is not a tar, tar+gzip or tar+zstd layer`);
  });
  return { kind: 'manifest', mediaType: type, config: manifest.config, layers: manifest.layers };
}

/** The platform an image config declares ("architecture", "os", "variant"). */
export function decodeImageConfig(bytes: Uint8Array): Platform {
  return check(configSchema, decodeJson(bytes, 'image config'), 'image config');
}

/** True when the media type is an index (OCI) or manifest list (Docker). */
export function isIndexType(mediaType: string): boolean {
  return INDEX_TYPES.includes(mediaType);
}
