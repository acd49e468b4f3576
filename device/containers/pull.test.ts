import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openImageStore } from './image-store.ts';
import { hasBlob, pullImage } from './pull.ts';

const digest = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['/bin/sh'] }, rootfs: { type: 'layers', diff_ids: [] } }));
const layer = Buffer.from('not really a tar, but bytes with a digest');
const manifest = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digest(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digest(layer), size: layer.length }],
  }),
);
const blobs = new Map([digest(config), digest(layer), digest(manifest)].map((d, i) => [d, [config, layer, manifest][i]!]));

/** A registry that wants a bearer token from its own /token, and serves one blob tampered when asked to. */
let server: Server;
let origin: string;
let tamper = false;
const requests: string[] = [];
beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (req.url?.startsWith('/token')) return void res.end(JSON.stringify({ token: 'tok' }));
    if (req.headers.authorization !== 'Bearer tok') {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${origin}/token",service="test",scope="repository:kiln/tiny:pull"` });
      return void res.end();
    }
    const m = /^\/v2\/kiln\/tiny\/(manifests|blobs)\/(sha256:[0-9a-f]{64})$/.exec(req.url ?? '');
    const body = m ? blobs.get(m[2]!) : undefined;
    if (body === undefined) return void res.writeHead(404).end();
    res.end(tamper && m![2] === digest(layer) ? Buffer.from(body.toString().toUpperCase()) : body);
  }).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((r) => server.close(r)));

describe('pullImage', () => {
  it('pulls the pinned manifest and its blobs into an empty store through a mirror, with the bearer flow; the store then finds it', async () => {
    const layout = path.join(await mkdtemp(path.join(os.tmpdir(), 'kiln-pull-')), 'oci');
    try {
      // The reference names a registry this test does not run; the mirror maps it to the one it does.
      const image = 'registry.site.example/kiln/tiny:1';
      const result = await pullImage({ image, digest: digest(manifest), layout, mirrors: { 'registry.site.example': origin } });
      expect(result).toEqual({ origin, blobs: 2, bytes: config.length + layer.length });
      expect(requests).toContain(`GET /token?service=test&scope=repository%3Akiln%2Ftiny%3Apull`);
      const store = await openImageStore(layout);
      const found = await store.findManifest(digest(manifest));
      expect(found).toMatchObject({ digest: digest(manifest), annotations: { 'org.opencontainers.image.ref.name': image } });
      await store.verifyBlob((await store.readManifest(found)).layers[0]!);
      // Again: nothing to fetch, one index entry.
      expect((await pullImage({ image, digest: digest(manifest), layout, mirrors: { 'registry.site.example': origin } })).blobs).toBe(0);
      expect(JSON.parse(await readFile(path.join(layout, 'index.json'), 'utf8')).manifests).toHaveLength(1);
    } finally {
      await rm(path.dirname(layout), { recursive: true, force: true });
    }
  });

  it('a tampered blob is refused naming both digests; nothing of it, and no manifest, is left in the store', async () => {
    const layout = path.join(await mkdtemp(path.join(os.tmpdir(), 'kiln-pull-')), 'oci');
    tamper = true;
    try {
      const image = `${origin}/kiln/tiny:1`;
      await expect(pullImage({ image, digest: digest(manifest), layout })).rejects.toThrow(
        new RegExp(
          `^image "${image}": blob ${digest(layer)} from ${origin} does not match its digest: found sha256:[0-9a-f]{64} \\(${layer.length} of ${layer.length} bytes\\)$`,
        ),
      );
      expect(await hasBlob(layout, digest(layer))).toBe(false);
      expect(await hasBlob(layout, digest(manifest))).toBe(false);
      expect((await readdir(path.join(layout, 'blobs/sha256'))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    } finally {
      tamper = false;
      await rm(path.dirname(layout), { recursive: true, force: true });
    }
  });

  it('a manifest that is not the pinned one, and an unreachable registry, are errors naming the image', async () => {
    const layout = path.join(os.tmpdir(), `kiln-pull-none-${process.pid}`);
    const other = `sha256:${'0'.repeat(64)}`;
    await expect(pullImage({ image: `${origin}/kiln/tiny:1`, digest: other, layout })).rejects.toThrow(
      `image "${origin}/kiln/tiny:1": ${origin} answered HTTP 404 for manifests ${other}`,
    );
    const closed = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => closed.once('listening', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await expect(pullImage({ image: `http://127.0.0.1:${port}/kiln/tiny:1`, digest: other, layout })).rejects.toThrow(
      `image "http://127.0.0.1:${port}/kiln/tiny:1": registry http://127.0.0.1:${port} is unreachable (ECONNREFUSED)`,
    );
    await expect(pullImage({ image: 'oci:images:web', digest: other, layout })).rejects.toThrow(
      'image "oci:images:web" is not in a registry: only kiln disk can put it in the store',
    );
  });
});
