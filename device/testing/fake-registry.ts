/**
 * A registry for the device's pull tests: a real HTTP server on loopback that serves manifests by tag or digest and
 * blobs with `Range: bytes=N-`, and misbehaves on demand for a blob response: cut (the connection destroyed after
 * some bytes), hang (bytes stop, the connection stays open), or ignore the Range. Not shipped.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BlobTrouble {
  /** Destroy the connection after this many bytes of the body. */
  cutAfter?: number;
  /** Stop sending after this many bytes of the body and keep the connection open. */
  hangAfter?: number;
  /** Answer 200 with the whole blob even when a Range was asked for. */
  ignoreRange?: boolean;
}

export interface FakeRegistry {
  /** "http://127.0.0.1:<port>" */
  origin: string;
  /** "127.0.0.1:<port>" */
  host: string;
  /** "GET /v2/…" with " range=bytes=N-" when one was asked for, in order. */
  requests: string[];
  manifest(reference: string, mediaType: string, bytes: Uint8Array): void;
  blob(bytes: Uint8Array): string;
  /** Decides the trouble of each blob response, by digest and the number of requests for it so far (1 = first). */
  trouble?: (digest: string, attempt: number) => BlobTrouble | undefined;
  close(): Promise<void>;
}

export async function startFakeRegistry(): Promise<FakeRegistry> {
  const manifests = new Map<string, { mediaType: string; bytes: Uint8Array }>();
  const blobs = new Map<string, Uint8Array>();
  const attempts = new Map<string, number>();
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const range = req.headers.range;
    requests.push(`${req.method} ${req.url}${range === undefined ? '' : ` range=${range}`}`);
    const match = /^\/v2\/.+\/(manifests|blobs)\/([^/]+)$/.exec(req.url ?? '');
    if (match === null) return void res.writeHead(404).end();
    const [, kind, reference] = match as unknown as [string, string, string];
    if (kind === 'manifests') {
      const found = manifests.get(reference);
      if (found === undefined) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
      return void res.writeHead(200, { 'content-type': found.mediaType, 'content-length': found.bytes.length }).end(found.bytes);
    }
    const bytes = blobs.get(reference);
    if (bytes === undefined) return void res.writeHead(404).end();
    const attempt = (attempts.get(reference) ?? 0) + 1;
    attempts.set(reference, attempt);
    const trouble = registry.trouble?.(reference, attempt) ?? {};
    const from = range !== undefined && !trouble.ignoreRange ? Number(/^bytes=(\d+)-$/.exec(range)?.[1] ?? 0) : 0;
    const body = bytes.subarray(from);
    res.writeHead(from > 0 ? 206 : 200, {
      'content-type': 'application/octet-stream',
      'content-length': body.length,
      ...(from > 0 ? { 'content-range': `bytes ${from}-${bytes.length - 1}/${bytes.length}` } : {}),
    });
    if (trouble.cutAfter !== undefined) return void res.write(body.subarray(0, trouble.cutAfter), () => res.destroy());
    if (trouble.hangAfter !== undefined) return void res.write(body.subarray(0, trouble.hangAfter));
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const registry: FakeRegistry = {
    origin: `http://${host}`,
    host,
    requests,
    manifest: (reference, mediaType, bytes) => void manifests.set(reference, { mediaType, bytes }),
    blob(bytes) {
      const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      blobs.set(digest, bytes);
      return digest;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  return registry;
}
