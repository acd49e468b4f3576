/**
 * `kiln update --device … REGISTRY/REPO:TAG`: a firmware `kiln push` published, fetched on the host and sent to one
 * device as it is — already signed, so no key is needed here, and the device checks the signature as for any upload.
 * The one distribution client (device/contract/oci/) and the device's own artifact picker
 * (device/contract/update/artifact-pick.ts) read it; the EFI is streamed to a file with its digest checked.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DistributionClient, DistributionError } from '../../device/contract/oci/distribution-client.ts';
import { describeFetchError } from '../../device/contract/oci/fetch-error.ts';
import { ImageRefError, parseImageRef, type RegistryRef } from '../../device/contract/oci/image-ref.ts';
import { MANIFEST_ACCEPT, OCI_MANIFEST } from '../../device/contract/oci/media-types.ts';
import { FirmwareArtifactError, firmwareLayers, pickFirmware, type ArtifactDescriptor, type FirmwareArch } from '../../device/contract/update/artifact-pick.ts';
import { parseStatement, TREE_FORMAT } from '../../device/contract/update/statement.ts';
import { tokenRealmAllowed } from '../container-images/reference.js';
import { KilnError } from '../util/errors.js';
import type { Reporter } from '../util/report.js';
import type { Release } from './release.js';

/** Whether a target is written as a registry reference rather than a file: a scheme, or a registry host first. */
export function looksLikeRegistryRef(target: string): boolean {
  return /^https?:\/\//.test(target) || /^[^/]+[.:][^/]*\/[^/].*[:@]/.test(target);
}

export async function releaseFromRegistry(ref: string, arch: FirmwareArch, dir: string, reporter: Reporter): Promise<Release> {
  let parsed;
  try {
    parsed = parseImageRef(ref);
  } catch (error) {
    if (error instanceof ImageRefError) throw new KilnError('UPDATE_BAD_TARGET', error.message, { hint: error.hint });
    throw error;
  }
  if (parsed.transport !== 'registry') throw new KilnError('UPDATE_BAD_TARGET', `${ref}: not a registry reference`);
  const source: RegistryRef = parsed;
  const client = new DistributionClient({ origin: source.origin, repository: source.repository, tokenTimeoutMs: 60_000, tokenRealmAllowed });
  const words = async <T>(what: string, request: () => Promise<T>): Promise<T> => {
    try {
      return await request();
    } catch (error) {
      if (error instanceof FirmwareArtifactError)
        throw new KilnError('UPDATE_NOT_FIRMWARE', `${ref}: ${error.message}`, { hint: 'Publish firmware with `kiln push`.' });
      if (!(error instanceof DistributionError)) throw error;
      const f = error.failure;
      const why = f.kind === 'unreachable' ? `unreachable (${describeFetchError(f.cause)})` : f.kind === 'status' ? `HTTP ${f.status}` : f.kind;
      throw new KilnError('UPDATE_REGISTRY', `${source.name}: ${what}: ${why}`);
    }
  };
  const bytesOf = async (response: Response) => new Uint8Array(await response.arrayBuffer());
  const top = await words('the tag', async () => bytesOf(await client.get(`manifests/${source.digest ?? source.tag}`, MANIFEST_ACCEPT)));
  const pick = await words('the artifact', async () => pickFirmware(top, arch));
  const layers =
    pick.kind === 'manifest'
      ? pick.firmware
      : await words(`the ${arch} manifest`, async () =>
          firmwareLayers(verified(await bytesOf(await client.get(`manifests/${pick.manifest.digest}`, OCI_MANIFEST)), pick.manifest), arch),
        );
  const statementBytes = await words('the statement', async () =>
    verified(await bytesOf(await client.get(`blobs/${layers.statement.digest}`, '*/*')), layers.statement),
  );
  const statement = parseStatement(statementBytes);
  const what = statement.format === TREE_FORMAT ? 'the slot tree' : 'the EFI';
  const payload = path.join(dir, `firmware-${arch}.${statement.format === TREE_FORMAT ? 'tar.gz' : 'efi'}`);
  const progress = reporter.progress(`fetching ${statement.version} (build ${statement.buildId}) from ${source.name}`, layers.payload.size, 'bytes');
  try {
    await words(what, async () => {
      const response = await client.get(`blobs/${layers.payload.digest}`, '*/*');
      const hash = createHash('sha256');
      let size = 0;
      const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
      body.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        size += chunk.length;
        progress.update(size);
      });
      await pipeline(body, createWriteStream(payload));
      if (`sha256:${hash.digest('hex')}` !== layers.payload.digest || size !== layers.payload.size) {
        await rm(payload, { force: true });
        throw new KilnError('UPDATE_REGISTRY', `${source.name}: ${what} blob does not match its digest ${layers.payload.digest}`);
      }
    });
  } finally {
    progress.stop();
  }
  return { arch, payload, signed: { statement, bytes: statementBytes, signature: layers.signature } };
}

/** A document whose bytes are not what its descriptor says is refused: the digest is the reference. */
function verified(bytes: Uint8Array, descriptor: ArtifactDescriptor): Uint8Array {
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  if (digest !== descriptor.digest) throw new KilnError('UPDATE_REGISTRY', `a blob of ${bytes.length} bytes has digest ${digest}, not ${descriptor.digest}`);
  return bytes;
}
