/** The shared OCI distribution client against a registry in the test, on loopback: every failure as data. */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DistributionClient, DistributionError, type DistributionFailure } from './distribution-client.ts';

let origin = '';
let route: (req: IncomingMessage, res: ServerResponse) => void = () => {};
const server = createServer((req, res) => route(req, res));
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const client = (extra: Partial<ConstructorParameters<typeof DistributionClient>[0]> = {}) =>
  new DistributionClient({ origin, repository: 'kiln/app', tokenTimeoutMs: 5000, ...extra });

async function failure(promise: Promise<unknown>): Promise<DistributionFailure> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DistributionError);
  return (error as DistributionError).failure;
}

/** A registry that wants a token from `realm` and accepts `Bearer good`; the token server answers `token`. */
function tokenRegistry(realm: string, token: { status: number; body: string }) {
  route = (req, res) => {
    if (req.url?.startsWith('/token')) return res.writeHead(token.status, { 'content-type': 'application/json' }).end(token.body);
    if (req.headers.authorization !== 'Bearer good') return res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm}",service="r"` }).end();
    res.writeHead(200).end(`ok ${req.url}`);
  };
}

describe('DistributionClient', () => {
  it("follows the bearer flow once per 401 and asks for the repository's pull scope", async () => {
    let asked = '';
    tokenRegistry(`${origin}/token`, { status: 200, body: '{"token":"good"}' });
    const inner = route;
    route = (req, res) => {
      if (req.url?.startsWith('/token')) asked = req.url;
      inner(req, res);
    };
    const response = await client().get('manifests/sha256:ab', 'application/json');
    expect(await response.text()).toBe('ok /v2/kiln/app/manifests/sha256:ab');
    expect(asked).toBe('/token?service=r&scope=repository%3Akiln%2Fapp%3Apull');
  });

  it('says what failed, as data', async () => {
    route = (_req, res) => res.writeHead(404).end();
    expect(await failure(client().get('blobs/sha256:ab', '*/*'))).toEqual({ kind: 'status', status: 404 });

    route = (_req, res) => res.writeHead(401, { 'www-authenticate': 'Basic realm="x"' }).end();
    expect(await failure(client().get('manifests/x', '*/*'))).toEqual({ kind: 'challenge', scheme: 'basic' });

    tokenRegistry('not a url', { status: 200, body: '{}' });
    expect(await failure(client().get('manifests/x', '*/*'))).toEqual({ kind: 'realm', realm: 'not a url' });

    tokenRegistry(`${origin}/token`, { status: 403, body: '{}' });
    expect(await failure(client().get('manifests/x', '*/*'))).toEqual({ kind: 'token-refused', tokenOrigin: origin, status: 403 });

    tokenRegistry(`${origin}/token`, { status: 200, body: '{"token":""}' });
    expect(await failure(client().get('manifests/x', '*/*'))).toEqual({ kind: 'token-missing', tokenOrigin: origin, status: 200 });

    tokenRegistry(`${origin}/token`, { status: 200, body: '{"token":"good"}' });
    expect(await failure(client({ tokenRealmAllowed: (url) => url.protocol === 'https:' }).get('manifests/x', '*/*'))).toEqual({
      kind: 'insecure-realm',
      tokenOrigin: origin,
    });

    const closed = new DistributionClient({ origin: 'http://127.0.0.1:1', repository: 'a', tokenTimeoutMs: 1000 });
    expect((await failure(closed.get('manifests/x', '*/*'))).kind).toBe('unreachable');
  });
});

describe('DistributionClient writes', () => {
  /** A registry that takes one upload at a relative Location, and records what it was sent. */
  function uploadRegistry(seen: string[], stored: Map<string, Buffer>) {
    route = (req, res) => {
      const url = new URL(req.url ?? '/', origin);
      seen.push(`${req.method} ${url.pathname}${url.search}${req.headers.authorization ? ' (auth)' : ''}`);
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.method === 'HEAD') return res.writeHead(stored.has(url.pathname.split('/').pop()!) ? 200 : 404).end();
        if (req.method === 'POST') return res.writeHead(202, { location: '/v2/kiln/app/blobs/uploads/u1?_state=s' }).end();
        if (req.method === 'PUT' && url.pathname.endsWith('/uploads/u1')) {
          stored.set(url.searchParams.get('digest')!, Buffer.concat(chunks));
          return res.writeHead(201).end();
        }
        if (req.method === 'PUT' && url.pathname.includes('/manifests/')) {
          if (req.headers['content-type'] !== 'application/vnd.oci.image.manifest.v1+json') {
            return res.writeHead(400, { 'content-type': 'application/json' }).end('{"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid"}]}');
          }
          return res.writeHead(201, { 'docker-content-digest': 'sha256:stored' }).end();
        }
        res.writeHead(405).end();
      });
    };
  }

  it('uploads a blob monolithically to the Location, keeping its query, and HEADs it', async () => {
    const seen: string[] = [];
    const stored = new Map<string, Buffer>();
    uploadRegistry(seen, stored);
    const c = client();
    expect(await c.hasBlob('sha256:aa')).toBe(false);
    await c.putBlob('sha256:aa', 5, () => new Blob([Buffer.from('hello')]).stream());
    expect(stored.get('sha256:aa')?.toString()).toBe('hello');
    expect(await c.hasBlob('sha256:aa')).toBe(true);
    expect(seen).toEqual([
      'HEAD /v2/kiln/app/blobs/sha256:aa',
      'POST /v2/kiln/app/blobs/uploads/',
      'PUT /v2/kiln/app/blobs/uploads/u1?_state=s&digest=sha256%3Aaa',
      'HEAD /v2/kiln/app/blobs/sha256:aa',
    ]);
  });

  it("puts a manifest with its media type, and says the registry's error code when refused", async () => {
    uploadRegistry([], new Map());
    expect(await client().putManifest('1.0', 'application/vnd.oci.image.manifest.v1+json', Buffer.from('{}'))).toBe('sha256:stored');
    expect(await failure(client().putManifest('1.0', 'application/json', Buffer.from('{}')))).toEqual({
      kind: 'status',
      status: 400,
      detail: 'MANIFEST_INVALID: manifest invalid',
    });
  });

  it('asks for the push scope, and opens the body again for the request after a 401', async () => {
    const asked: string[] = [];
    const bodies: string[] = [];
    let tokens = 0;
    // The token of the upload's start has expired by the time the bytes are sent: the PUT wants the second one.
    route = (req, res) => {
      if (req.url?.startsWith('/token')) {
        asked.push(new URL(req.url, origin).searchParams.get('scope')!);
        return res.writeHead(200, { 'content-type': 'application/json' }).end(`{"token":"t${++tokens}"}`);
      }
      let body = '';
      req.on('data', (c: Buffer) => (body += c));
      req.on('end', () => {
        const wanted = req.method === 'PUT' ? ['Bearer t2'] : ['Bearer t1', 'Bearer t2'];
        if (!wanted.includes(req.headers.authorization ?? '')) return res.writeHead(401, { 'www-authenticate': `Bearer realm="${origin}/token"` }).end();
        if (req.method === 'POST') return res.writeHead(202, { location: `${origin}/v2/kiln/app/blobs/uploads/u2` }).end();
        bodies.push(body);
        res.writeHead(201).end();
      });
    };
    let opened = 0;
    await client().putBlob('sha256:bb', 5, () => {
      opened++;
      return new Blob([Buffer.from('hello')]).stream();
    });
    expect(asked).toEqual(['repository:kiln/app:pull,push', 'repository:kiln/app:pull,push']);
    expect({ opened, bodies }).toEqual({ opened: 2, bodies: ['hello'] });
  });

  it('says so when an upload has no Location', async () => {
    route = (_req, res) => res.writeHead(202).end();
    expect(await failure(client().putBlob('sha256:aa', 1, () => 'x'))).toEqual({
      kind: 'status',
      status: 202,
      detail: 'no Location header in the answer to POST blobs/uploads/',
    });
  });
});
