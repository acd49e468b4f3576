/**
 * Images in a registry, over the OCI distribution API with Node's fetch: anonymous pulls, and the bearer
 * token flow (a 401 with `WWW-Authenticate: Bearer realm=...,service=...,scope=...` → an anonymous token from
 * the realm → the request again). HTTPS always, except to a loopback registry written `http://127.0.0.1:<port>/...`.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { KilnError } from '../util/errors.js';
import { MAX_MANIFEST_BYTES, type ImageBlobStore } from './blob-store.js';
import type { Descriptor } from './manifest.js';
import { describeFetchError } from '../../device/contract/oci/fetch-error.ts';
import { MANIFEST_ACCEPT } from './media-types.js';
import { isLoopback, type RegistryRef } from './reference.js';
import type { FetchedManifest, ImageSource, Progress } from './source.js';
import { parseChallenge, tokenUrl } from '../../device/contract/oci/www-authenticate.ts';

const MANIFEST_TIMEOUT_MS = 60_000;

export class RegistrySource implements ImageSource {
  private readonly ref: string;
  private readonly registry: RegistryRef;
  private readonly onProgress: Progress | undefined;
  private token: string | undefined;

  constructor(ref: string, registry: RegistryRef, onProgress?: Progress) {
    this.ref = ref;
    this.registry = registry;
    this.onProgress = onProgress;
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

  /** GET /v2/<repository>/<path>, with the token flow on a 401; any other failure is a KilnError. */
  private async get(suffix: string, accept: string, signal?: AbortSignal): Promise<Response> {
    const url = `${this.registry.origin}/v2/${this.registry.repository}/${suffix}`;
    let response = await this.send(url, accept, signal);
    if (response.status === 401) {
      // No token yet, or it expired during a long pull: one fresh token per request.
      await this.authenticate(response.headers.get('www-authenticate'));
      response = await this.send(url, accept, signal);
    }
    if (response.ok) return response;
    await response.body?.cancel();
    const what = suffix.startsWith('manifests/') ? `manifest ${suffix.slice('manifests/'.length)}` : `blob ${suffix.slice('blobs/'.length)}`;
    if (response.status === 404) {
      throw this.error(
        'IMAGE_NOT_FOUND',
        `${this.registry.name} has no ${what} (HTTP 404)`,
        'check the repository and tag; a pinned digest that is gone needs `kiln lock --update`',
      );
    }
    if (response.status === 401 || response.status === 403) {
      throw this.error(
        'IMAGE_AUTH',
        `${this.registry.name} refused ${what} (HTTP ${response.status})`,
        'kiln pulls anonymously: the repository must be public',
      );
    }
    throw this.error('IMAGE_REGISTRY', `${this.registry.name} answered HTTP ${response.status} for ${what}`, 'try again later, or check the registry');
  }

  private async send(url: string, accept: string, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { Accept: accept };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    try {
      return await fetch(url, { headers, signal, redirect: 'follow' });
    } catch (err) {
      throw this.error(
        'IMAGE_UNREACHABLE',
        `registry ${this.registry.origin} is unreachable (${describeFetchError(err)})`,
        'check the host name and your network; a warm cache with a pinned digest needs no network',
      );
    }
  }

  /** Fetches an anonymous bearer token as the 401's challenge says. */
  private async authenticate(header: string | null): Promise<void> {
    const challenge = header ? parseChallenge(header) : undefined;
    if (!challenge || challenge.scheme !== 'bearer' || !challenge.params.realm) {
      const scheme = challenge ? `${challenge.scheme} authentication` : 'authentication';
      throw this.error(
        'IMAGE_AUTH',
        `${this.registry.name} requires ${scheme} (HTTP 401)`,
        'kiln pulls anonymously: make the repository public, or mirror the image to an oci: folder',
      );
    }
    let url: URL;
    try {
      url = tokenUrl(challenge, `repository:${this.registry.repository}:pull`);
    } catch {
      throw this.error('IMAGE_AUTH', `${this.registry.name} sent an unusable token realm "${challenge.params.realm}"`, 'check the registry');
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.host))) {
      throw this.error('IMAGE_AUTH', `${this.registry.name} wants a token from ${url.origin}, which is not HTTPS`, 'check the registry');
    }
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(MANIFEST_TIMEOUT_MS) });
    } catch (err) {
      throw this.error('IMAGE_UNREACHABLE', `token server ${url.origin} is unreachable (${describeFetchError(err)})`, 'check your network');
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw this.error(
        'IMAGE_AUTH',
        `${url.origin} refused an anonymous token for ${this.registry.repository} (HTTP ${response.status})`,
        'kiln pulls anonymously: the repository must be public',
      );
    }
    const body = (await response.json().catch(() => ({}))) as { token?: unknown; access_token?: unknown };
    const token = typeof body.token === 'string' ? body.token : typeof body.access_token === 'string' ? body.access_token : undefined;
    if (!token) throw this.error('IMAGE_AUTH', `${url.origin} answered without a token`, 'check the registry');
    this.token = token;
  }

  private error(code: string, message: string, hint: string): KilnError {
    return new KilnError(code, `image "${this.ref}": ${message}`, { hint });
  }
}

function formatBytes(n: number): string {
  return n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / (1 << 20)).toFixed(1)} MiB`;
}
