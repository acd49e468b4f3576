/**
 * The one OCI distribution client, for the host's build-time pulls (src/container-images/registry-source.ts), the device's
 * run-time pulls (device/containers/pull.ts) and the host's firmware pushes (src/update/push.ts): `GET /v2/<repository>/<path>`,
 * and for a push `HEAD` a blob, a monolithic blob upload (`POST blobs/uploads/` then `PUT <location>?digest=`) and
 * `PUT manifests/<reference>`, with Node's fetch, anonymous or with the bearer-token flow (a 401 with
 * `WWW-Authenticate: Bearer realm=…` → an anonymous token from the realm → the request again, one fresh token per
 * 401, so a token that expires during a long pull is renewed). Writes ask for the `pull,push` scope.
 *
 * A failure is a `DistributionError` whose `failure` says what went wrong in data, not words: each side words it
 * for its own users (the host as a KilnError with a hint, the device as a log line).
 */
import { parseChallenge, tokenUrl } from './www-authenticate.ts';

export type DistributionFailure =
  /** The registry could not be reached (refused, unknown host, TLS, timed out): `cause` is fetch's error. */
  | { kind: 'unreachable'; cause: unknown }
  /** The registry answered, but not with 2xx (after the token flow, for a 401); a write says the registry's own error code too. */
  | { kind: 'status'; status: number; detail?: string }
  /** A 401 whose challenge is not a usable Bearer one; `scheme` is the one offered, if any. */
  | { kind: 'challenge'; scheme?: string }
  /** The Bearer challenge's realm is not a URL. */
  | { kind: 'realm'; realm: string }
  /** The realm is a URL this side does not fetch tokens from (the host: not HTTPS, nor loopback). */
  | { kind: 'insecure-realm'; tokenOrigin: string }
  | { kind: 'token-unreachable'; tokenOrigin: string; cause: unknown }
  /** The token server answered non-2xx, or 2xx without a token. */
  | { kind: 'token-refused'; tokenOrigin: string; status: number }
  | { kind: 'token-missing'; tokenOrigin: string; status: number };

export class DistributionError extends Error {
  readonly failure: DistributionFailure;
  constructor(failure: DistributionFailure) {
    super(`OCI distribution request failed: ${failure.kind}`);
    this.name = 'DistributionError';
    this.failure = failure;
  }
}

export interface DistributionClientOptions {
  /** `https://registry.example` (or a mirror), without a trailing slash. */
  origin: string;
  repository: string;
  /** Time limit of a token request. */
  tokenTimeoutMs: number;
  /** Whether a token may be fetched from this realm URL. @default any */
  tokenRealmAllowed?: (url: URL) => boolean;
}

interface RequestOptions {
  accept?: string;
  headers?: Record<string, string>;
  /** Called once per attempt. */
  body?: () => BodyInit;
  signal?: AbortSignal;
}

export class DistributionClient {
  readonly origin: string;
  readonly repository: string;
  private readonly options: DistributionClientOptions;
  private token: string | undefined;

  constructor(options: DistributionClientOptions) {
    this.options = options;
    this.origin = options.origin;
    this.repository = options.repository;
  }

  /**
   * GET /v2/<repository>/<suffix> (`manifests/<ref>`, `blobs/<digest>`): a 2xx response, or a DistributionError.
   * `headers` adds request headers, e.g. `range` to resume a blob (a 206 is a 2xx too).
   */
  async get(suffix: string, accept: string, signal?: AbortSignal, headers?: Record<string, string>): Promise<Response> {
    const response = await this.request('GET', this.url(suffix), { accept, signal, ...(headers === undefined ? {} : { headers }) }, 'pull');
    if (response.ok) return response;
    await response.body?.cancel();
    throw new DistributionError({ kind: 'status', status: response.status });
  }

  /** HEAD /v2/<repository>/blobs/<digest>: true when the registry has the blob, false for a 404. */
  async hasBlob(digest: string, signal?: AbortSignal): Promise<boolean> {
    const response = await this.request('HEAD', this.url(`blobs/${digest}`), { signal }, 'pull,push');
    await response.body?.cancel();
    if (response.ok) return true;
    if (response.status === 404) return false;
    throw new DistributionError({ kind: 'status', status: response.status });
  }

  /**
   * Uploads one blob in one request: `POST blobs/uploads/`, then `PUT <location>?digest=<digest>` with its `size`
   * bytes. `body` is called for each attempt (a 401 sends the bytes again), so a file is opened, not buffered.
   */
  async putBlob(digest: string, size: number, body: () => BodyInit, signal?: AbortSignal): Promise<void> {
    const started = await this.request('POST', this.url('blobs/uploads/'), { signal }, 'pull,push');
    await this.expectOk(started);
    const location = started.headers.get('location');
    if (location === null || location === '') {
      throw new DistributionError({ kind: 'status', status: started.status, detail: 'no Location header in the answer to POST blobs/uploads/' });
    }
    const target = new URL(location, `${this.origin}/`);
    target.searchParams.set('digest', digest);
    const headers = { 'content-type': 'application/octet-stream', 'content-length': String(size) };
    await this.expectOk(await this.request('PUT', target.href, { headers, body, signal }, 'pull,push'));
  }

  /** PUT /v2/<repository>/manifests/<reference>; the digest the registry says it stored (Docker-Content-Digest), if it says. */
  async putManifest(reference: string, mediaType: string, bytes: Uint8Array, signal?: AbortSignal): Promise<string | undefined> {
    const headers = { 'content-type': mediaType };
    const response = await this.request(
      'PUT',
      this.url(`manifests/${reference}`),
      { headers, body: () => bytes as Uint8Array<ArrayBuffer>, signal },
      'pull,push',
    );
    await this.expectOk(response);
    return response.headers.get('docker-content-digest') ?? undefined;
  }

  private url(suffix: string): string {
    return `${this.origin}/v2/${this.repository}/${suffix}`;
  }

  /** One request, and once more with a fresh token after a 401. */
  private async request(method: string, url: string, init: RequestOptions, actions: 'pull' | 'pull,push'): Promise<Response> {
    const response = await this.send(method, url, init);
    if (response.status !== 401) return response;
    await response.body?.cancel();
    await this.authenticate(response.headers.get('www-authenticate'), actions);
    return this.send(method, url, init);
  }

  /** A write's non-2xx answer as a failure with the registry's error code (`{"errors":[{"code":…}]}`), if it gave one. */
  private async expectOk(response: Response): Promise<void> {
    if (response.ok) {
      await response.body?.cancel();
      return;
    }
    const body = (await response.json().catch(() => undefined)) as { errors?: { code?: unknown; message?: unknown }[] } | undefined;
    const first = body?.errors?.[0];
    const detail = [first?.code, first?.message].filter((p): p is string => typeof p === 'string' && p !== '').join(': ');
    throw new DistributionError({ kind: 'status', status: response.status, ...(detail === '' ? {} : { detail }) });
  }

  private async send(method: string, url: string, init: RequestOptions): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    if (init.accept !== undefined) headers.accept = init.accept;
    // The token is the registry's: an upload location on another host (a storage service) does not get it.
    if (this.token !== undefined && new URL(url).origin === this.origin) headers.authorization = `Bearer ${this.token}`;
    const body = init.body?.();
    try {
      return await fetch(url, {
        method,
        headers,
        redirect: 'follow',
        ...(body === undefined ? {} : { body, duplex: 'half' }),
        ...(init.signal === undefined ? {} : { signal: init.signal }),
      });
    } catch (cause) {
      throw new DistributionError({ kind: 'unreachable', cause });
    }
  }

  /** Fetches an anonymous bearer token as the 401's challenge says. */
  private async authenticate(header: string | null, actions: 'pull' | 'pull,push'): Promise<void> {
    const challenge = header === null ? undefined : parseChallenge(header);
    if (challenge?.scheme !== 'bearer' || !challenge.params.realm) throw new DistributionError({ kind: 'challenge', scheme: challenge?.scheme });
    let url: URL;
    try {
      url = tokenUrl(challenge, `repository:${this.repository}:${actions}`);
    } catch {
      throw new DistributionError({ kind: 'realm', realm: challenge.params.realm });
    }
    if (this.options.tokenRealmAllowed !== undefined && !this.options.tokenRealmAllowed(url)) {
      throw new DistributionError({ kind: 'insecure-realm', tokenOrigin: url.origin });
    }
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(this.options.tokenTimeoutMs) });
    } catch (cause) {
      throw new DistributionError({ kind: 'token-unreachable', tokenOrigin: url.origin, cause });
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new DistributionError({ kind: 'token-refused', tokenOrigin: url.origin, status: response.status });
    }
    const body = (await response.json().catch(() => ({}))) as { token?: unknown; access_token?: unknown };
    const token = typeof body.token === 'string' ? body.token : typeof body.access_token === 'string' ? body.access_token : undefined;
    if (token === undefined || token === '') throw new DistributionError({ kind: 'token-missing', tokenOrigin: url.origin, status: response.status });
    this.token = token;
  }
}
