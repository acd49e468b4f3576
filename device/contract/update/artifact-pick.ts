/**
 * Reading a kiln firmware artifact (what `kiln push` writes, src/update/artifact.ts): from the image index a tag
 * names, the manifest of one architecture; from that manifest, the payload layer (the EFI, or a layout: source slot's
 * tree as a tar), the statement layer and the signature. Pure and shared: the device pulls with it, the host reads
 * what it pushed with it. Nothing is trusted here — the statement's signature and the payload's digest are checked by whoever fetches the blobs (statement.ts).
 *
 * An index entry names its architecture twice: `platform.architecture` (OCI's name, for generic tools) and the
 * `dev.kiln.arch` annotation (kiln's, as the statement has it). The device matches on kiln's, so it needs no table
 * of OCI names. Mirrors copy manifests byte for byte but may write an index anew; so what makes a kiln firmware is
 * the manifest's artifactType, and an index is only required to name each entry's architecture.
 */
import { DIGEST_PATTERN } from '../oci/image-ref.ts';
import { KILN_FIRMWARE, KILN_FIRMWARE_EFI, KILN_FIRMWARE_STATEMENT, KILN_FIRMWARE_TREE, OCI_INDEX, OCI_MANIFEST } from '../oci/media-types.ts';
import type { FirmwareStatement } from './statement.ts';

/** The annotations of a firmware manifest (and `arch` on its index entry too). */
export const ANNOTATION = {
  version: 'org.opencontainers.image.version',
  title: 'org.opencontainers.image.title',
  created: 'org.opencontainers.image.created',
  buildId: 'dev.kiln.build-id',
  arch: 'dev.kiln.arch',
  /** Base64 of the raw 64-byte Ed25519 signature over the statement layer's bytes. */
  signature: 'dev.kiln.signature',
} as const;

/** A statement is a few hundred bytes; a layer that claims more is not one, and is not read into memory. */
export const MAX_STATEMENT_BYTES = 64 * 1024;

export type FirmwareArch = FirmwareStatement['arch'];

export interface ArtifactDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  platform?: { architecture: string; os: string };
  annotations?: Record<string, string>;
}

export interface FirmwareLayers {
  /** What the statement signs: the UEFI executable, or the slot's tree as a tar (layout: source). */
  payload: ArtifactDescriptor;
  statement: ArtifactDescriptor;
  /** The raw 64-byte signature from the manifest's annotation. */
  signature: Uint8Array;
  arch: FirmwareArch;
  version: string;
  buildId: string;
}

/** What a tag names: an index (fetch `manifest` next), or one architecture's manifest already. */
export type FirmwarePick = { kind: 'index'; manifest: ArtifactDescriptor } | { kind: 'manifest'; firmware: FirmwareLayers };

/** The artifact is not a kiln firmware, or has none for the architecture: the message is one line for the user. */
export class FirmwareArtifactError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FirmwareArtifactError';
  }
}

/**
 * The first step of a pull: the document a tag names, for `arch`.
 * @example pickFirmware(indexBytes, 'aarch64') // { kind: 'index', manifest: { mediaType: OCI_MANIFEST, digest: 'sha256:…', size: 1021, … } }
 */
export function pickFirmware(bytes: Uint8Array, arch: FirmwareArch): FirmwarePick {
  const json = decodeObject(bytes);
  const mediaType = json.mediaType ?? ('manifests' in json ? OCI_INDEX : OCI_MANIFEST);
  if (mediaType === OCI_MANIFEST) return { kind: 'manifest', firmware: manifestLayers(json, arch) };
  if (mediaType !== OCI_INDEX) throw notFirmware(`a document of type ${String(mediaType)}`);
  // Optional on an index, and dropped by tools that copy one (skopeo 1.9 writes the index anew, keeping the
  // annotations): the manifest's artifactType, copied byte for byte, is the one that decides.
  if (json.artifactType !== undefined && json.artifactType !== KILN_FIRMWARE) throw notFirmware(artifactTypeIs(json.artifactType));
  if (!Array.isArray(json.manifests)) throw shape('manifests', 'expected a list');
  const entries = json.manifests.map((entry, i) => {
    const descriptor = descriptorAt(entry, `manifests.${i}`);
    const entryArch = descriptor.annotations?.[ANNOTATION.arch];
    if (entryArch === undefined) throw notFirmware(`manifests.${i} has no ${ANNOTATION.arch} annotation`);
    return { arch: entryArch, descriptor };
  });
  const matches = entries.filter((e) => e.arch === arch).map((e) => e.descriptor);
  if (matches.length > 1) throw new FirmwareArtifactError(`firmware artifact: ${matches.length} firmwares for ${arch} in the index`);
  if (matches.length === 0)
    throw noFirmwareFor(
      arch,
      entries.map((e) => e.arch),
    );
  const manifest = matches[0]!;
  if (manifest.mediaType !== OCI_MANIFEST) throw notFirmware(`the ${arch} entry is a ${manifest.mediaType}`);
  return { kind: 'index', manifest };
}

/**
 * The second step: from one architecture's manifest, its two layers and the signature.
 * @example firmwareLayers(manifestBytes, 'x86_64') // { efi: {…}, statement: {…}, signature: Uint8Array(64), version: '1.4.2', … }
 */
export function firmwareLayers(bytes: Uint8Array, arch: FirmwareArch): FirmwareLayers {
  const json = decodeObject(bytes);
  if ((json.mediaType ?? OCI_MANIFEST) !== OCI_MANIFEST) throw notFirmware(`a document of type ${String(json.mediaType)}, not an image manifest`);
  return manifestLayers(json, arch);
}

function manifestLayers(json: Record<string, unknown>, arch: FirmwareArch): FirmwareLayers {
  const config = descriptorAt(json.config, 'config');
  // image-spec 1.1: without artifactType, the config's media type is the artifact's type.
  const type = json.artifactType ?? config.mediaType;
  if (type !== KILN_FIRMWARE) throw notFirmware(artifactTypeIs(type));
  const annotations = annotationsAt(json.annotations, 'annotations') ?? {};
  const found = requiredAnnotation(annotations, ANNOTATION.arch);
  if (found !== arch) throw noFirmwareFor(arch, [found]);
  if (!Array.isArray(json.layers)) throw shape('layers', 'expected a list');
  const layers = json.layers.map((layer, i) => descriptorAt(layer, `layers.${i}`));
  const payload = onlyLayer(layers, [KILN_FIRMWARE_EFI, KILN_FIRMWARE_TREE]);
  const statement = onlyLayer(layers, [KILN_FIRMWARE_STATEMENT]);
  if (statement.size > MAX_STATEMENT_BYTES) throw shape('layers', `the statement layer claims ${statement.size} bytes, more than a statement can be`);
  return {
    payload,
    statement,
    signature: signatureOf(annotations[ANNOTATION.signature]),
    arch,
    version: requiredAnnotation(annotations, ANNOTATION.version),
    buildId: requiredAnnotation(annotations, ANNOTATION.buildId),
  };
}

/** The one layer of one of `mediaTypes`. */
function onlyLayer(layers: readonly ArtifactDescriptor[], mediaTypes: readonly string[]): ArtifactDescriptor {
  const found = layers.filter((l) => mediaTypes.includes(l.mediaType));
  const names = mediaTypes.join(' or ');
  if (found.length === 0) throw notFirmware(`no ${names} layer`);
  if (found.length > 1) throw notFirmware(`${found.length} ${names} layers`);
  return found[0]!;
}

/** 64 bytes are 88 base64 characters ending in "=="; anything else is not kiln's signature. */
function signatureOf(text: string | undefined): Uint8Array {
  if (text === undefined) throw notFirmware(`no ${ANNOTATION.signature} annotation`);
  if (!/^[A-Za-z0-9+/]{86}==$/.test(text)) throw shape(`annotations.${ANNOTATION.signature}`, 'expected the base64 of a 64-byte Ed25519 signature');
  return new Uint8Array(Buffer.from(text, 'base64'));
}

function requiredAnnotation(annotations: Record<string, string>, key: string): string {
  const value = annotations[key];
  if (value === undefined || value === '') throw notFirmware(`no ${key} annotation`);
  return value;
}

function decodeObject(bytes: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new FirmwareArtifactError(`firmware artifact: not UTF-8 JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new FirmwareArtifactError('firmware artifact: not a JSON object');
  const json = value as Record<string, unknown>;
  if (json.schemaVersion !== 2) throw shape('schemaVersion', 'expected 2');
  return json;
}

function descriptorAt(value: unknown, where: string): ArtifactDescriptor {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw shape(where, 'expected a descriptor object');
  const d = value as Record<string, unknown>;
  if (typeof d.mediaType !== 'string') throw shape(`${where}.mediaType`, 'expected a string');
  if (typeof d.digest !== 'string' || !DIGEST_PATTERN.test(d.digest)) throw shape(`${where}.digest`, 'expected "sha256:" and 64 lowercase hex digits');
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) throw shape(`${where}.size`, 'expected a whole number of bytes');
  const annotations = annotationsAt(d.annotations, `${where}.annotations`);
  return {
    mediaType: d.mediaType,
    digest: d.digest,
    size: d.size,
    ...(typeof d.artifactType === 'string' ? { artifactType: d.artifactType } : {}),
    ...(isPlatform(d.platform) ? { platform: { architecture: d.platform.architecture, os: d.platform.os } } : {}),
    ...(annotations === undefined ? {} : { annotations }),
  };
}

function annotationsAt(value: unknown, where: string): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string')) {
    throw shape(where, 'expected an object of strings');
  }
  return value as Record<string, string>;
}

function isPlatform(value: unknown): value is { architecture: string; os: string } {
  const p = value as { architecture?: unknown; os?: unknown } | null | undefined;
  return typeof p?.architecture === 'string' && typeof p.os === 'string';
}

const artifactTypeIs = (type: unknown) => (type === undefined ? 'no artifactType' : `artifactType ${JSON.stringify(type)}, not "${KILN_FIRMWARE}"`);
const notFirmware = (why: string) => new FirmwareArtifactError(`not a kiln firmware artifact (${why})`);
const shape = (where: string, why: string) => new FirmwareArtifactError(`firmware artifact: ${where}: ${why}`);

function noFirmwareFor(arch: FirmwareArch, has: readonly string[]): FirmwareArtifactError {
  const names = [...new Set(has)];
  return new FirmwareArtifactError(`no firmware for ${arch} (the artifact has: ${names.length === 0 ? 'none' : names.join(', ')})`);
}
