/**
 * A registry blob as one stream of bytes that survives a broken connection: when a response is cut (reset, closed
 * early) or stalls (no byte within `idleMs`, headers included), the download is asked for again with
 * `Range: bytes=N-` from where it stopped, a bounded number of times, and the bytes go on seamlessly. A firmware is
 * tens of megabytes on links that drop; starting over each time could never finish, and a registry that hangs
 * must not hold an install open forever.
 *
 * Nothing here judges the bytes: the consumer (install.ts) checks size and SHA-256 against the signed statement.
 * A registry that ignores Range answers 200 with the whole blob; the bytes already given are skipped.
 */
import { DistributionError, type DistributionClient } from '../contract/oci/distribution-client.ts';
import { describeFetchError } from '../contract/oci/fetch-error.ts';
import { describeRegistryFailure } from '../containers/pull.ts';

export interface DownloadLimits {
  /** No response headers, or no byte of the body, for this long: the request is given up and resumed. */
  idleMs: number;
  /** Requests after the first, per download. */
  retries: number;
  /** Wait before the first resume; doubles for each further one. */
  retryDelayMs: number;
}

export const DOWNLOAD_LIMITS: DownloadLimits = { idleMs: 30_000, retries: 5, retryDelayMs: 1_000 };

/** The download broke off for good; the message names the blob, how far it got, and why. */
export class DownloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DownloadError';
  }
}

export interface BlobRef {
  digest: string;
  size: number;
}

/** Told before each resume: how far it got, why it stopped, and the wait before asking again. */
export type OnResume = (info: { offset: number; size: number; reason: string; retry: number; retries: number; delayMs: number }) => void;

/** A body that ended (or broke) before the blob's size: worth asking for the rest. */
class Cut extends Error {}

/** The idle timer's reason for aborting: fetch rejects with it, and so does a read of the body. */
class IdleTimeout extends Error {
  constructor(ms: number) {
    super(`no data for ${ms / 1000} s`);
    this.name = 'TimeoutError';
  }
}

/**
 * The blob's `size` bytes, fetched lazily on iteration (an install refused on its statement never downloads).
 * @example await handle.install({ ..., payload: resumableBlob(client, layers.efi, DOWNLOAD_LIMITS, onResume) })
 */
export async function* resumableBlob(client: DistributionClient, blob: BlobRef, limits: DownloadLimits, onResume?: OnResume): AsyncGenerator<Uint8Array> {
  let offset = 0;
  let retry = 0;
  while (offset < blob.size) {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => controller.abort(new IdleTimeout(limits.idleMs)), limits.idleMs);
    };
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    try {
      arm();
      const headers: Record<string, string> = { 'accept-encoding': 'identity', ...(offset > 0 ? { range: `bytes=${offset}-` } : {}) };
      const response = await client.get(`blobs/${blob.digest}`, '*/*', controller.signal, headers);
      let skip = bytesToSkip(response, offset, client.origin);
      if (response.body === null) throw new Cut('an empty response');
      reader = response.body.getReader();
      for (;;) {
        arm();
        const { done, value } = await reader.read();
        if (done) break;
        let chunk = value;
        if (skip > 0) {
          const n = Math.min(skip, chunk.length);
          skip -= n;
          chunk = chunk.subarray(n);
        }
        if (chunk.length > blob.size - offset) chunk = chunk.subarray(0, blob.size - offset);
        if (chunk.length === 0) continue;
        offset += chunk.length;
        // The consumer's time (writing to the slot) is not the registry's: no idle timer while it has the chunk.
        clearTimeout(timer);
        yield chunk;
        if (offset >= blob.size) return;
      }
      throw new Cut('the response ended early');
    } catch (error) {
      const reason = whyStopped(error, client.origin, blob.digest);
      if (reason === undefined) throw error;
      const where = `the download of blob ${blob.digest.slice(0, 19)}… from ${client.origin} broke off after ${offset} of ${blob.size} bytes (${reason})`;
      if (retry >= limits.retries) throw new DownloadError(`${where}; gave up after ${limits.retries} resumes`);
      retry += 1;
      const delayMs = limits.retryDelayMs * 2 ** (retry - 1);
      onResume?.({ offset, size: blob.size, reason, retry, retries: limits.retries, delayMs });
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    } finally {
      clearTimeout(timer);
      controller.abort();
      reader?.cancel().catch(() => {});
    }
  }
}

/** How many leading bytes of this response were already given: 0 for the 206 asked for, all of them for a 200. */
function bytesToSkip(response: Response, offset: number, origin: string): number {
  if (offset === 0 || response.status === 200) return offset;
  const range = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(response.headers.get('content-range') ?? '');
  if (response.status !== 206 || range === null || Number(range[1]) !== offset) {
    throw new DownloadError(
      `${origin} answered a request for bytes ${offset}- with HTTP ${response.status} and Content-Range ${JSON.stringify(response.headers.get('content-range'))}`,
    );
  }
  return 0;
}

/** Why a request stopped, when asking again may help (the network, a timeout, a 5xx); undefined when it cannot. */
function whyStopped(error: unknown, origin: string, digest: string): string | undefined {
  if (error instanceof Cut) return error.message;
  if (error instanceof DistributionError) {
    const f = error.failure;
    if (f.kind === 'unreachable') return describeCut(f.cause);
    if (f.kind === 'status' && (f.status >= 500 || f.status === 408 || f.status === 429)) return describeRegistryFailure(origin, f, `blobs/${digest}`);
    throw new DownloadError(describeRegistryFailure(origin, f, `blobs/${digest}`));
  }
  if (error instanceof DownloadError) return undefined;
  // Reading the body: undici's "terminated" (the connection went), or the idle timer's abort.
  if (error instanceof IdleTimeout || error instanceof TypeError) return describeCut(error);
  return undefined;
}

/** undici says "terminated" for a body whose connection went; its cause says how. */
function describeCut(error: unknown): string {
  if (error instanceof IdleTimeout) return error.message;
  const e = error as Error & { cause?: { code?: string; message?: string } };
  if (e.message === 'terminated') return `connection lost: ${e.cause?.message ?? e.cause?.code ?? 'terminated'}`;
  return describeFetchError(error);
}
