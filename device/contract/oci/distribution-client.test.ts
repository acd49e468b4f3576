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
