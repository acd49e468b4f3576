/**
 * Images in a registry, over the OCI distribution API (the one client, device/contract/oci/distribution-client.ts,
 * shared with the device's pulls): anonymous pulls and the bearer-token flow. HTTPS always, except to a loopback
 * registry written `http://127.0.0.1:<port>/...`. This side adds progress, the store, and KilnErrors with hints.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { KilnError } from '../util/errors.js';
import { MAX_MANIFEST_BYTES, type ImageBlobStore } from './blob-store.js';
import type { Descriptor } from './manifest.js';
import { describeFetchError } from '../../device/contract/oci/fetch-error.ts';
import { MANIFEST_ACCEPT } from './media-types.js';
import { tokenRealmAllowed, type RegistryRef } from './reference.js';
import type { FetchedManifest, ImageSource, Progress } from './source.js';
import { DistributionClient, DistributionError, type DistributionFailure } from '../../device/contract/oci/distribution-client.ts';

const MANIFEST_TIMEOUT_MS = 60_000;

export class RegistrySource implements ImageSource {
  private readonly ref: string;
  private readonly registry: RegistryRef;
  private readonly onProgress: Progress | undefined;
  private readonly client: DistributionClient;

  constructor(ref: string, registry: RegistryRef, onProgress?: Progress) {
    this.ref = ref;
    this.registry = registry;
    this.onProgress = onProgress;
    this.client = new DistributionClient({
      origin: registry.origin,
      repository: registry.repository,
      tokenTimeoutMs: MANIFEST_TIMEOUT_MS,
      tokenRealmAllowed,
    });
  }

  async top(): Promise<FetchedManifest> {
    return this.manifest(this.registry.digest ?? this.registry.tag ?? 'latest');
  }

  async manifest(reference: string): Promise<FetchedManifest> {
    const response = await this.get(`manifests/${reference}`, MANIFEST_ACCEPT, AbortSignal.timeout(MANIFEST_TIMEOUT_MS));
    const length = Number(response.headers.get('content-length') ?? 0);
    if (length > MAX_MANIFEST_BYTES)
      throw this.error('IMAGE_INVALID', `manifest ${reference} is ${length} bytes, more than a manifest can be`, 'check the reference');
    const bytes = Buffer.from(await response.arrayBuffer());
    const claimed = response.headers.get('docker-content-digest');
    return {
      bytes,
      mediaType: response.headers.get('content-type') ?? undefined,
      // A registry vouches for what it served; resolveImage checks the bytes against it.
      ...(claimed?.startsWith('sha256:') ? { expected: { digest: claimed } } : {}),
    };
  }

  async blob(descriptor: Descriptor, store: ImageBlobStore): Promise<string> {
    this.onProgress?.(`pulling ${descriptor.digest.slice(0, 19)} (${formatBytes(descriptor.size)}) from ${this.registry.name}`);
    const response = await this.get(`blobs/${descriptor.digest}`, '*/*');
    if (!response.body) throw this.error('IMAGE_REGISTRY', `blob ${descriptor.digest}: empty response`, 'try again later');
    try {
      return await store.putStream(descriptor, Readable.fromWeb(response.body as WebReadableStream<Uint8Array>));
    } catch (err) {
      if (err instanceof KilnError) throw err;
      throw this.error(
        'IMAGE_UNREACHABLE',
        `download of blob ${descriptor.digest} from ${this.registry.origin} broke off (${describeFetchError(err)})`,
        'try again; nothing partial was kept',
      );
    }
  }

  async close(): Promise<void> {}

  /** GET /v2/<repository>/<path> through the shared distribution client; every failure is worded as a KilnError. */
  private async get(suffix: string, accept: string, signal?: AbortSignal): Promise<Response> {
    try {
      return await this.client.get(suffix, accept, signal);
    } catch (error) {
      if (!(error instanceof DistributionError)) throw error;
      const what = suffix.startsWith('manifests/') ? `manifest ${suffix.slice('manifests/'.length)}` : `blob ${suffix.slice('blobs/'.length)}`;
      throw this.describe(error.failure, what);
    }
  }

  private describe(f: DistributionFailure, what: string): KilnError {
    const name = this.registry.name;
    switch (f.kind) {
      case 'unreachable':
        return this.error(
          'IMAGE_UNREACHABLE',
          `registry ${this.registry.origin} is unreachable (${describeFetchError(f.cause)})`,
          'check the host name and your network; a warm cache with a pinned digest needs no network',
        );
      case 'status':
        if (f.status === 404) {
          return this.error(
            'IMAGE_NOT_FOUND',
            `${name} has no ${what} (HTTP 404)`,
            'check the repository and tag; a pinned digest that is gone needs `kiln lock --update`',
          );
        }
        if (f.status === 401 || f.status === 403) {
          return this.error('IMAGE_AUTH', `${name} refused ${what} (HTTP ${f.status})`, 'kiln pulls anonymously: the repository must be public');
        }
        return this.error('IMAGE_REGISTRY', `${name} answered HTTP ${f.status} for ${what}`, 'try again later, or check the registry');
      case 'challenge':
        return this.error(
          'IMAGE_AUTH',
          `${name} requires ${f.scheme === undefined ? 'authentication' : `${f.scheme} authentication`} (HTTP 401)`,
          'kiln pulls anonymously: make the repository public, or mirror the image to an oci: folder',
        );
      case 'realm':
        return this.error('IMAGE_AUTH', `${name} sent an unusable token realm "${f.realm}"`, 'check the registry');
      case 'insecure-realm':
        return this.error('IMAGE_AUTH', `${name} wants a token from ${f.tokenOrigin}, which is not HTTPS`, 'check the registry');
      case 'token-unreachable':
        return this.error('IMAGE_UNREACHABLE', `token server ${f.tokenOrigin} is unreachable (${describeFetchError(f.cause)})`, 'check your network');
      case 'token-refused':
        return this.error(
          'IMAGE_AUTH',
          `${f.tokenOrigin} refused an anonymous token for ${this.registry.repository} (HTTP ${f.status})`,
          'kiln pulls anonymously: the repository must be public',
        );
      case 'token-missing':
        return this.error('IMAGE_AUTH', `${f.tokenOrigin} answered without a token`, 'check the registry');
    }
  }

  private error(code: string, message: string, hint: string): KilnError {
    return new KilnError(code, `image "${this.ref}": ${message}`, { hint });
  }
}

function formatBytes(n: number): string {
  return n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / (1 << 20)).toFixed(1)} MiB`;
}
