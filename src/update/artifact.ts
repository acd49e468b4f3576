/**
 * A release as an OCI image-spec 1.1 artifact (`kiln push`): per architecture an image manifest of artifactType
 * application/vnd.kiln.firmware.v1 whose config is the empty descriptor and whose layers are the payload — the UEFI
 * executable, or with layout: source the slot's tree as a tar — and the signed statement, with the version, build id, architecture and signature as annotations; over them an image
 * index with each one's platform, which the tag names. device/contract/update/artifact-pick.ts reads it back.
 *
 * Pure: the payload's descriptor comes from its statement (which holds its size and SHA-256), so nothing is read here.
 * The bytes depend only on the inputs — no clock; `created` only when the caller passes one (SOURCE_DATE_EPOCH).
 */
import { createHash } from 'node:crypto';
import { ANNOTATION, type ArtifactDescriptor } from '../../device/contract/update/artifact-pick.ts';
import {
  KILN_FIRMWARE,
  KILN_FIRMWARE_EFI,
  KILN_FIRMWARE_STATEMENT,
  KILN_FIRMWARE_TREE,
  OCI_EMPTY,
  OCI_INDEX,
  OCI_MANIFEST,
} from '../../device/contract/oci/media-types.ts';
import { parseStatement, TREE_FORMAT, type FirmwareStatement } from '../../device/contract/update/statement.ts';
import { ARCH_TABLE } from '../config/arch.js';

/** One architecture's firmware as signed: the statement's exact bytes and the raw Ed25519 signature over them. */
export interface SignedFirmware {
  statementBytes: Uint8Array;
  signature: Uint8Array;
}

/** A blob the artifact writes itself (manifests, index, statement, the empty config): its bytes and descriptor. */
export interface JsonBlob {
  descriptor: ArtifactDescriptor;
  bytes: Uint8Array;
}

export interface ArchArtifact {
  statement: FirmwareStatement;
  manifest: JsonBlob;
  /** The payload's layer (the EFI, or the slot's tree as a tar); its bytes are the file the statement describes. */
  payload: ArtifactDescriptor;
  statementBlob: JsonBlob;
}

export interface FirmwareArtifact {
  /** What the tag names. */
  index: JsonBlob;
  arches: ArchArtifact[];
}

/** The empty descriptor's blob, the two bytes `{}`: every manifest's config (image-spec 1.1, for artifacts). */
export const EMPTY_CONFIG: JsonBlob = jsonBlob(OCI_EMPTY, {});

/** The title of a statement layer, for tools that save layers as files by it (oras). */
const STATEMENT_TITLE = 'statement.json';

/**
 * The artifact for one release: every firmware of one name and version, at most one per architecture, in order.
 * @example firmwareArtifact([{ statementBytes, signature }]).index.descriptor.digest // 'sha256:…', the same every time
 */
export function firmwareArtifact(firmwares: readonly SignedFirmware[], options: { created?: Date } = {}): FirmwareArtifact {
  if (firmwares.length === 0) throw new TypeError('firmwareArtifact: no firmware');
  const statements = firmwares.map((f) => parseStatement(f.statementBytes));
  const [first] = statements;
  for (const s of statements) {
    if (s.name !== first!.name || s.version !== first!.version) {
      throw new TypeError(`firmwareArtifact: ${s.arch} is ${s.name} ${s.version}, ${first!.arch} ${first!.name} ${first!.version}: one release per artifact`);
    }
    if (statements.filter((o) => o.arch === s.arch).length > 1) throw new TypeError(`firmwareArtifact: two firmwares for ${s.arch}`);
  }
  const created: Record<string, string> = options.created === undefined ? {} : { [ANNOTATION.created]: rfc3339(options.created) };

  const arches = firmwares.map((firmware, i): ArchArtifact => {
    const statement = statements[i]!;
    if (firmware.signature.length !== 64)
      throw new TypeError(`firmwareArtifact: the ${statement.arch} signature is ${firmware.signature.length} bytes, not 64`);
    const tree = statement.format === TREE_FORMAT;
    const payload: ArtifactDescriptor = {
      mediaType: tree ? KILN_FIRMWARE_TREE : KILN_FIRMWARE_EFI,
      digest: `sha256:${statement.sha256}`,
      size: statement.size,
      annotations: { [ANNOTATION.title]: tree ? `${statement.name}-${statement.arch}.tar.gz` : ARCH_TABLE[statement.arch].efiName },
    };
    const statementBlob = rawBlob(KILN_FIRMWARE_STATEMENT, firmware.statementBytes, { [ANNOTATION.title]: STATEMENT_TITLE });
    const manifest = jsonBlob(OCI_MANIFEST, {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: KILN_FIRMWARE,
      config: EMPTY_CONFIG.descriptor,
      layers: [payload, statementBlob.descriptor],
      annotations: sorted({
        ...created,
        [ANNOTATION.arch]: statement.arch,
        [ANNOTATION.buildId]: statement.buildId,
        [ANNOTATION.signature]: Buffer.from(firmware.signature).toString('base64'),
        [ANNOTATION.title]: statement.name,
        [ANNOTATION.version]: statement.version,
      }),
    });
    return { statement, manifest, payload, statementBlob };
  });

  const index = jsonBlob(OCI_INDEX, {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    artifactType: KILN_FIRMWARE,
    manifests: arches.map(({ statement, manifest }) => ({
      ...manifest.descriptor,
      artifactType: KILN_FIRMWARE,
      platform: { architecture: ARCH_TABLE[statement.arch].goarch, os: 'linux' },
      annotations: { [ANNOTATION.arch]: statement.arch },
    })),
    annotations: sorted({ ...created, [ANNOTATION.title]: first!.name, [ANNOTATION.version]: first!.version }),
  });
  return { index, arches };
}

/** The compact JSON of `value` (key order as written), with its descriptor. */
function jsonBlob(mediaType: string, value: unknown): JsonBlob {
  return rawBlob(mediaType, new TextEncoder().encode(JSON.stringify(value)));
}

function rawBlob(mediaType: string, bytes: Uint8Array, annotations?: Record<string, string>): JsonBlob {
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  return { bytes, descriptor: { mediaType, digest, size: bytes.length, ...(annotations === undefined ? {} : { annotations }) } };
}

function sorted(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** RFC 3339 in UTC to the second, as image-spec's `created` annotation is written: 2026-01-02T03:04:05Z. */
function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
