/**
 * The one OCI distribution client, for the host's build-time pulls (src/container-images/registry-source.ts) and the device's
 * run-time pulls (device/containers/pull.ts): `GET /v2/<repository>/<path>` with Node's fetch, anonymous or with the
 * bearer-token flow (a 401 with `WWW-Authenticate: Bearer realm=…` → an anonymous token from the realm → the
 * request again, one fresh token per 401, so a token that expires during a long pull is renewed).
 *
 * A failure is a `DistributionError` whose `failure` says what went wrong in data, not words: each side words it
 * for its own users (the host as a KilnError with a hint, the device as a log line).
 */
import { parseChallenge, tokenUrl } from './www-authenticate.ts';

export type DistributionFailure =
  /** The registry could not be reached (refused, unknown host, TLS, timed out): `cause` is fetch's error. */
  | { kind: 'unreachable'; cause: unknown }
  /** The registry answered, but not with 2xx (after the token flow, for a 401). */
  | { kind: 'status'; status: number }
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

  /** GET /v2/<repository>/<suffix> (`manifests/<ref>`, `blobs/<digest>`): a 2xx response, or a DistributionError. */
  async get(suffix: string, accept: string, signal?: AbortSignal): Promise<Response> {
    const url = `${this.origin}/v2/${this.repository}/${suffix}`;
    let response = await this.send(url, accept, signal);
    if (response.status === 401) {
      await this.authenticate(response.headers.get('www-authenticate'));
      response = await this.send(url, accept, signal);
    }
    if (response.ok) return response;
    await response.body?.cancel();
    throw new DistributionError({ kind: 'status', status: response.status });
  }

  private async send(url: string, accept: string, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { Accept: accept };
    if (this.token !== undefined) headers.Authorization = `Bearer ${this.token}`;
    try {
      return await fetch(url, { headers, redirect: 'follow', ...(signal === undefined ? {} : { signal }) });
    } catch (cause) {
      throw new DistributionError({ kind: 'unreachable', cause });
    }
  }

  /** Fetches an anonymous bearer token as the 401's challenge says. */
  private async authenticate(header: string | null): Promise<void> {
    const challenge = header === null ? undefined : parseChallenge(header);
    if (challenge?.scheme !== 'bearer' || !challenge.params.realm) throw new DistributionError({ kind: 'challenge', scheme: challenge?.scheme });
    let url: URL;
    try {
      url = tokenUrl(challenge, `repository:${this.repository}:pull`);
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
