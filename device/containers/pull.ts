/**
 * Pulls, on the device, an image its store lacks: the manifest kiln.lock pinned (by digest, never a tag), its
 * config and its layers, over the OCI distribution API with Node's fetch — anonymous, or the bearer-token flow on a
 * 401 — each blob streamed to a temporary file, checked against its digest and size, then renamed into the store's
 * `blobs/`; the manifest is added to `index.json` last (written to a temporary file and renamed), so the store never
 * lists an image it does not wholly hold. A registry the device must reach at another address (a site mirror, or the
 * host seen from a QEMU guest) is mapped by the secondary config's `registries`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { parseImageRef, type RegistryRef } from '../contract/oci/image-ref.ts';
import { REF_NAME_ANNOTATION } from './image-store.ts';
import { describeFetchError } from '../contract/oci/fetch-error.ts';
import { MANIFEST_ACCEPT, OCI_MANIFEST } from '../contract/oci/media-types.ts';
import { DistributionClient, DistributionError, type DistributionFailure } from '../contract/oci/distribution-client.ts';

const REQUEST_TIMEOUT_MS = 60_000;

export interface PullOptions {
  /** The reference from the config, e.g. "ghcr.io/acme/app:1.2" or "http://127.0.0.1:5000/kiln/app:1". */
  image: string;
  /** The manifest digest kiln.lock pinned. */
  digest: string;
  /** The store's OCI image layout folder (created when missing). */
  layout: string;
  /** Registry host[:port] → origin to use instead ("http://10.0.2.2:5000"), from the secondary config. */
  mirrors?: Readonly<Record<string, string>>;
}

export interface PullResult {
  origin: string;
  blobs: number;
  /** Bytes downloaded (blobs the store already had are not fetched again). */
  bytes: number;
}

/** A pull that failed: the message names the image, what failed and where. */
export class PullError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PullError';
  }
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

/** Does the store hold this blob? (The manifest's presence means a whole image: it is written last.) */
export async function hasBlob(layout: string, digest: string): Promise<boolean> {
  return stat(blobFile(layout, digest)).then(
    (s) => s.isFile(),
    () => false,
  );
}

function blobFile(layout: string, digest: string): string {
  const [algorithm, hex] = digest.split(':') as [string, string];
  return path.join(layout, 'blobs', algorithm, hex);
}

/**
 * Where the device reaches a reference's registry: the mirror `registries` names for its host[:port] as the
 * reference writes it, else the registry itself. The one mirror rule of the device's pulls (images and firmware).
 */
export function registryOrigin(ref: RegistryRef, mirrors: Readonly<Record<string, string>> | undefined): string {
  const host = ref.name.slice(0, ref.name.indexOf('/'));
  return (mirrors?.[host] ?? ref.origin).replace(/\/+$/, '');
}

/** A distribution failure in the device's words ("registry … is unreachable (ECONNREFUSED)"), for its log lines. */
export function describeRegistryFailure(origin: string, f: DistributionFailure, suffix: string): string {
  switch (f.kind) {
    case 'unreachable':
      return `registry ${origin} is unreachable (${describeFetchError(f.cause)})`;
    case 'status':
      return `${origin} answered HTTP ${f.status} for ${suffix.replace('/', ' ')}`;
    case 'challenge':
    case 'insecure-realm':
      return `${origin} requires authentication kiln does not do (HTTP 401)`;
    case 'realm':
      return `${origin} sent an unusable token realm "${f.realm}"`;
    case 'token-unreachable':
      return `token server ${f.tokenOrigin} is unreachable (${describeFetchError(f.cause)})`;
    case 'token-refused':
    case 'token-missing':
      return `${f.tokenOrigin} gave no anonymous token (HTTP ${f.status})`;
  }
}

/** Pulls in progress by store and digest: two containers of one image share one pull. */
const inflight = new Map<string, Promise<PullResult>>();

export function pullImage(o: PullOptions): Promise<PullResult> {
  const key = `${o.layout}\0${o.digest}`;
  let pull = inflight.get(key);
  if (pull === undefined) {
    pull = pullOnce(o).finally(() => inflight.delete(key));
    inflight.set(key, pull);
  }
  return pull;
}

async function pullOnce(o: PullOptions): Promise<PullResult> {
  const ref = parseImageRef(o.image);
  if (ref.transport !== 'registry') throw new PullError(`image "${o.image}" is not in a registry: only kiln disk can put it in the store`);
  const origin = registryOrigin(ref, o.mirrors);
  const client = new RegistryClient(o.image, origin, ref.repository);
  const result: PullResult = { origin, blobs: 0, bytes: 0 };

  const manifestBytes = await client.bytes(`manifests/${o.digest}`, MANIFEST_ACCEPT);
  const found = sha256(manifestBytes);
  if (found !== o.digest) throw new PullError(`image "${o.image}": manifest ${o.digest} from ${origin} does not match its digest: found ${found}`);
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as { mediaType?: string; config?: Descriptor; layers?: Descriptor[] };
  if (manifest.config === undefined || !Array.isArray(manifest.layers)) {
    throw new PullError(`image "${o.image}": ${o.digest} is not an image manifest (kiln.lock pins the manifest of the device's architecture)`);
  }
  await mkdir(path.join(o.layout, 'blobs', 'sha256'), { recursive: true });
  for (const blob of [manifest.config, ...manifest.layers]) {
    if (await hasBlob(o.layout, blob.digest)) continue;
    await client.blob(blob, blobFile(o.layout, blob.digest));
    result.blobs += 1;
    result.bytes += blob.size;
  }
  await writeAtomically(blobFile(o.layout, o.digest), manifestBytes);
  await addToIndex(o.layout, {
    mediaType: manifest.mediaType ?? OCI_MANIFEST,
    digest: o.digest,
    size: manifestBytes.length,
    annotations: { [REF_NAME_ANNOTATION]: o.image },
  });
  return result;
}

/** One index.json update at a time: two pulls finishing together must not drop each other's entry. */
let indexQueue: Promise<unknown> = Promise.resolve();

function addToIndex(layout: string, descriptor: Descriptor & { annotations: Record<string, string> }): Promise<void> {
  const step = async () => {
    const file = path.join(layout, 'index.json');
    const index = (await readFile(file, 'utf8').then(JSON.parse, () => ({ schemaVersion: 2, manifests: [] }))) as { manifests: Descriptor[] };
    if (!index.manifests.some((d) => d.digest === descriptor.digest)) index.manifests.push(descriptor);
    await writeFile(path.join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}\n', { flag: 'wx' }).catch(() => undefined);
    await writeAtomically(file, Buffer.from(`${JSON.stringify(index, null, 2)}\n`));
  };
  const next = indexQueue.then(step, step);
  indexQueue = next.catch(() => undefined);
  return next;
}

/** Beside the target (the rename stays on one filesystem), unique per writer. */
function tempName(target: string): string {
  return `${target}.${randomBytes(6).toString('hex')}.tmp`;
}

async function writeAtomically(file: string, data: Buffer): Promise<void> {
  const temp = tempName(file);
  await writeFile(temp, data);
  await rename(temp, file);
}

function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** The shared distribution client with this side's wording: every failure a PullError naming the image. */
class RegistryClient {
  private readonly image: string;
  private readonly origin: string;
  private readonly client: DistributionClient;

  constructor(image: string, origin: string, repository: string) {
    this.image = image;
    this.origin = origin;
    this.client = new DistributionClient({ origin, repository, tokenTimeoutMs: REQUEST_TIMEOUT_MS });
  }

  async bytes(suffix: string, accept: string): Promise<Buffer> {
    const response = await this.get(suffix, accept);
    return Buffer.from(await response.arrayBuffer());
  }

  /** Streams a blob to `target` through a temporary file, checking digest and size before the rename. */
  async blob(blob: Descriptor, target: string): Promise<void> {
    const response = await this.get(`blobs/${blob.digest}`, '*/*', false);
    if (response.body === null) throw new PullError(`image "${this.image}": blob ${blob.digest}: empty response from ${this.origin}`);
    const temp = tempName(target);
    const hash = createHash('sha256');
    let size = 0;
    try {
      const body = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
      body.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        size += chunk.length;
      });
      await pipeline(body, createWriteStream(temp));
      const found = `sha256:${hash.digest('hex')}`;
      if (found !== blob.digest || size !== blob.size) {
        throw new PullError(
          `image "${this.image}": blob ${blob.digest} from ${this.origin} does not match its digest: found ${found} (${size} of ${blob.size} bytes)`,
        );
      }
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { force: true });
      if (error instanceof PullError) throw error;
      throw new PullError(`image "${this.image}": download of blob ${blob.digest} from ${this.origin} broke off (${describeFetchError(error)})`);
    }
  }

  private async get(suffix: string, accept: string, timeout = true): Promise<Response> {
    try {
      return await this.client.get(suffix, accept, timeout ? AbortSignal.timeout(REQUEST_TIMEOUT_MS) : undefined);
    } catch (error) {
      if (!(error instanceof DistributionError)) throw error;
      throw new PullError(`image "${this.image}": ${describeRegistryFailure(this.origin, error.failure, suffix)}`);
    }
  }
}
