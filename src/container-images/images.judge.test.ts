// resolveImage and writeOciLayout judged by independent tools: an image built by umoci from busybox-static,
// exported by skopeo to oci-archive and docker-archive, pushed to Debian's docker-registry; skopeo and umoci
// then read what kiln wrote. Missing tools fail the suite (requireTools), they never skip it.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256File } from '../inputs/cache.js';
import { KilnError } from '../util/errors.js';
import { addIndexEntry, addJsonBlob, BUSYBOX, freePort, requireTools, startProxy, startRegistry, tool, type Registry } from './_testing.js';
import { resolveImage, writeOciLayout, type ResolvedImage, type ResolveImageOptions } from './index.js';

const work = mkdtempSync(path.join(tmpdir(), 'kiln-images-'));
const layout = path.join(work, 'layout');
let registry: Registry | undefined;
let cacheCount = 0;
/** A fresh cache per test unless one is passed: a warm cache would hide the source. */
const freshCache = () => path.join(work, `cache-${++cacheCount}`);
const opts = (extra: Partial<ResolveImageOptions> = {}): ResolveImageOptions => ({ arch: 'x86_64', configDir: work, cacheDir: freshCache(), ...extra });
const inspect = (ref: string, ...flags: string[]) =>
  JSON.parse(tool('skopeo', ['inspect', ...flags, ref])) as { Digest: string; Layers: string[]; Architecture: string };

/** The error a promise rejects with, required to be a KilnError. */
async function failure(promise: Promise<unknown>): Promise<KilnError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof KilnError)) throw new Error(`expected a KilnError, got ${err === undefined ? 'success' : String(err)}`);
  return err;
}

/** Every blob is in the cache under its digest, and hashes to it. */
async function expectCached(image: ResolvedImage): Promise<void> {
  for (const digest of [image.manifestDigest, image.configDigest, ...image.layers.map((l) => l.digest)]) {
    expect(`sha256:${await sha256File(image.blobPath(digest))}`).toBe(digest);
  }
}

/** No temporary or scratch files left in a cache. */
function expectNoLeftovers(cacheDir: string): void {
  const blobs = path.join(cacheDir, 'blobs', 'sha256');
  expect(existsSync(blobs) ? readdirSync(blobs).filter((f) => f.startsWith('.')) : []).toEqual([]);
  const tmp = path.join(cacheDir, 'tmp');
  expect(existsSync(tmp) ? readdirSync(tmp) : []).toEqual([]);
}

const digests = { tiny: '', arm: '', multi: '' };

beforeAll(async () => {
  requireTools();
  // tiny: amd64, busybox in one gzip layer (umoci). arm: an arm64 config over a text file. multi: an index of both.
  tool('umoci', ['init', '--layout', layout]);
  tool('umoci', ['new', '--image', `${layout}:tiny`]);
  tool('umoci', ['insert', '--image', `${layout}:tiny`, BUSYBOX, '/bin/busybox']);
  tool('umoci', ['config', '--image', `${layout}:tiny`, '--config.cmd', '/bin/busybox']);
  writeFileSync(path.join(work, 'hello'), 'hello from arm64\n');
  tool('umoci', ['new', '--image', `${layout}:arm`]);
  tool('umoci', ['insert', '--image', `${layout}:arm`, path.join(work, 'hello'), '/hello']);
  tool('umoci', ['config', '--image', `${layout}:arm`, '--architecture', 'arm64']);
  const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8')) as {
    manifests: { digest: string; size: number; mediaType: string; annotations: Record<string, string> }[];
  };
  const byTag = (tag: string) => index.manifests.find((m) => m.annotations['org.opencontainers.image.ref.name'] === tag)!;
  const entry = (tag: string, architecture: string, variant?: string) => ({
    mediaType: byTag(tag).mediaType,
    digest: byTag(tag).digest,
    size: byTag(tag).size,
    platform: { architecture, os: 'linux', ...(variant ? { variant } : {}) },
  });
  digests.tiny = byTag('tiny').digest;
  digests.arm = byTag('arm').digest;
  const oci = 'application/vnd.oci.image.index.v1+json';
  const multi = addJsonBlob(layout, { schemaVersion: 2, mediaType: oci, manifests: [entry('tiny', 'amd64'), entry('arm', 'arm64', 'v8')] });
  digests.multi = multi.digest;
  addIndexEntry(layout, { mediaType: oci, ...multi, annotations: { 'org.opencontainers.image.ref.name': 'multi' } });
  const amdOnly = addJsonBlob(layout, { schemaVersion: 2, mediaType: oci, manifests: [entry('tiny', 'amd64'), { ...entry('tiny', 'arm', 'v7') }] });
  addIndexEntry(layout, { mediaType: oci, ...amdOnly, annotations: { 'org.opencontainers.image.ref.name': 'amd-only' } });

  tool('skopeo', ['copy', '-q', `oci:${layout}:tiny`, `oci:${path.join(work, 'single')}:only`]);
  tool('skopeo', ['copy', '-q', `oci:${layout}:tiny`, `oci-archive:${path.join(work, 'tiny-oci.tar')}:tiny`]);
  tool('skopeo', ['copy', '-q', `oci:${layout}:tiny`, `docker-archive:${path.join(work, 'tiny-docker.tar')}:kiln/tiny:1`]);

  registry = await startRegistry(path.join(work, 'registry'));
  const push = (tag: string, dest: string, ...flags: string[]) =>
    tool('skopeo', ['copy', '-q', ...flags, '--dest-tls-verify=false', `oci:${layout}:${tag}`, `docker://${registry!.host}/${dest}`]);
  push('tiny', 'kiln/tiny:1');
  push('multi', 'kiln/multi:1', '--all');
}, 60_000);

afterAll(async () => {
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('oci: layout folders', () => {
  it('resolves a tag to what skopeo sees, every blob verified in the cache', async () => {
    const image = await resolveImage('oci:layout:tiny', opts());
    const judge = inspect(`oci:${layout}:tiny`);
    expect(image.manifestDigest).toBe(judge.Digest);
    expect(image.layers.map((l) => l.digest)).toEqual(judge.Layers);
    expect(image.layers[0].mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
    expect(image.platform).toEqual({ architecture: 'amd64', os: 'linux' });
    await expectCached(image);
  });

  it('takes the only image when no tag is given, and asks for one among several', async () => {
    expect((await resolveImage('oci:single', opts())).manifestDigest).toBe(digests.tiny);
    expect((await failure(resolveImage('oci:layout', opts()))).message).toBe(
      'image "oci:layout": the layout holds 4 images; name one (tags: tiny, arm, multi, amd-only)',
    );
  });

  it('names the tags there for an unknown tag, and the path for a missing folder', async () => {
    expect((await failure(resolveImage('oci:layout:nope', opts()))).message).toBe(
      'image "oci:layout:nope": no tag "nope" in the layout (tags: tiny, arm, multi, amd-only)',
    );
    const missing = await failure(resolveImage('oci:missing:tiny', opts()));
    expect(missing.message).toBe(`image "oci:missing:tiny": no such folder ${path.join(work, 'missing')}`);
    expect(missing.hint).toBe(`oci: paths are relative to the config's folder (${work})`);
  });

  it('follows a multi-architecture index to the target, and lists the platforms when it is missing', async () => {
    const arm = await resolveImage('oci:layout:multi', opts({ arch: 'aarch64' }));
    expect(arm).toMatchObject({ manifestDigest: digests.arm, indexDigest: digests.multi, platform: { architecture: 'arm64' } });
    expect((await resolveImage('oci:layout:multi', opts())).manifestDigest).toBe(digests.tiny);
    const err = await failure(resolveImage('oci:layout:amd-only', opts({ arch: 'aarch64' })));
    expect(err).toMatchObject({ code: 'IMAGE_ARCH', message: 'image "oci:layout:amd-only": no linux aarch64 image (platforms: linux/amd64, linux/arm/v7)' });
  });

  it('refuses a single-architecture image built for another architecture', async () => {
    expect((await failure(resolveImage('oci:layout:arm', opts()))).message).toBe('image "oci:layout:arm": the image is linux/arm64, not linux x86_64');
  });

  it('refuses a layout blob that does not match its digest, leaving nothing in the cache', async () => {
    const copy = path.join(work, 'tampered-layout');
    tool('skopeo', ['copy', '-q', `oci:${layout}:tiny`, `oci:${copy}:tiny`]);
    const layer = inspect(`oci:${copy}:tiny`).Layers[0];
    const file = path.join(copy, 'blobs', 'sha256', layer.slice(7));
    const bytes = readFileSync(file);
    bytes[1000] ^= 0x01;
    writeFileSync(file, bytes);
    const o = opts();
    const err = await failure(resolveImage('oci:tampered-layout:tiny', o));
    expect(err.code).toBe('IMAGE_DIGEST');
    expect(err.message).toMatch(new RegExp(`^image "oci:tampered-layout:tiny": blob ${layer} does not match its digest: found sha256:[0-9a-f]{64}$`));
    expect(existsSync(path.join(o.cacheDir, 'blobs', 'sha256', layer.slice(7)))).toBe(false);
    expectNoLeftovers(o.cacheDir);
    // The same damage inside an oci-archive (whose blobs are moved, not copied, into the cache).
    tool('tar', ['-C', copy, '-cf', path.join(work, 'tampered.tar'), '.']);
    const fromArchive = await failure(resolveImage('oci-archive:tampered.tar:tiny', o));
    expect(fromArchive.message).toBe(err.message.replace('oci:tampered-layout:tiny', 'oci-archive:tampered.tar:tiny'));
    expect(existsSync(path.join(o.cacheDir, 'blobs', 'sha256', layer.slice(7)))).toBe(false);
    expectNoLeftovers(o.cacheDir);
  });
});

describe('oci-archive: and docker-archive:', () => {
  it('reads an oci-archive as skopeo does, leaving no scratch behind', async () => {
    const o = opts();
    const image = await resolveImage('oci-archive:tiny-oci.tar:tiny', o);
    expect(image.manifestDigest).toBe(inspect(`oci-archive:${path.join(work, 'tiny-oci.tar')}:tiny`).Digest);
    await expectCached(image);
    expectNoLeftovers(o.cacheDir);
    expect((await failure(resolveImage('oci-archive:nope.tar', o))).message).toBe(`image "oci-archive:nope.tar": no such file ${path.join(work, 'nope.tar')}`);
    expect((await failure(resolveImage('oci-archive:tiny-docker.tar', o))).message).toBe(
      'image "oci-archive:tiny-docker.tar": the archive is not an OCI image layout (no oci-layout file)',
    );
  });

  it('converts a docker-archive: config and layer files as they are, as skopeo reads them', async () => {
    const archive = path.join(work, 'tiny-docker.tar');
    const raw = JSON.parse(tool('skopeo', ['inspect', '--raw', `docker-archive:${archive}`])) as {
      config: { digest: string; size: number };
      layers: { digest: string; size: number }[];
    };
    const o = opts();
    const image = await resolveImage('docker-archive:tiny-docker.tar', o);
    expect(image.configDigest).toBe(raw.config.digest);
    expect(image.layers).toEqual(raw.layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: 'application/vnd.oci.image.layer.v1.tar' })));
    await expectCached(image);
    expectNoLeftovers(o.cacheDir);
    // The made-up manifest is stable: its digest pins the archive, also by name.
    const again = await resolveImage('docker-archive:tiny-docker.tar:kiln/tiny:1', opts({ pinned: image.manifestDigest }));
    expect(again.manifestDigest).toBe(image.manifestDigest);
    const wrong = await failure(resolveImage('docker-archive:tiny-docker.tar', opts({ pinned: digests.tiny })));
    expect(wrong.message).toBe(
      `image "docker-archive:tiny-docker.tar": the archive no longer holds the pinned image ${digests.tiny} (it holds ${image.manifestDigest})`,
    );
    // The older layout: manifest.json names "<id>/layer.tar", a symlink to the layer file.
    const legacy = path.join(work, 'legacy');
    mkdirSync(legacy);
    tool('tar', ['-C', legacy, '-xf', archive]);
    const saved = JSON.parse(readFileSync(path.join(legacy, 'manifest.json'), 'utf8')) as { Layers: string[] }[];
    const link = readdirSync(legacy).find((f) => existsSync(path.join(legacy, f, 'layer.tar')))!;
    saved[0].Layers = [`${link}/layer.tar`];
    writeFileSync(path.join(legacy, 'manifest.json'), JSON.stringify(saved));
    tool('tar', ['-C', legacy, '-cf', path.join(work, 'legacy.tar'), '.']);
    const fromLegacy = await resolveImage('docker-archive:legacy.tar', opts());
    expect(fromLegacy.manifestDigest).toBe(image.manifestDigest);
    await expectCached(fromLegacy);
    expect((await failure(resolveImage('docker-archive:tiny-docker.tar:kiln/other:1', opts()))).message).toBe(
      'image "docker-archive:tiny-docker.tar:kiln/other:1": no image "kiln/other:1" in the archive (tags: docker.io/kiln/tiny:1)',
    );
  });
});

describe('registry (docker-registry on 127.0.0.1)', () => {
  const ref = (repoTag: string, host = registry!.host) => `http://${host}/${repoTag}`;

  it('resolves a tag to the digest skopeo sees, then the pin needs no network with a warm cache', async () => {
    const o = opts();
    const image = await resolveImage(ref('kiln/tiny:1'), o);
    expect(image.manifestDigest).toBe(inspect(`docker://${registry!.host}/kiln/tiny:1`, '--tls-verify=false').Digest);
    expect(image.manifestDigest).toBe(digests.tiny);
    await expectCached(image);
    const proxy = await startProxy(registry!.host);
    try {
      const warm = await resolveImage(ref('kiln/tiny:1', proxy.host), { ...o, pinned: image.manifestDigest });
      expect(warm.layers).toEqual(image.layers);
      expect(proxy.requests).toEqual([]);
      // A cold cache fetches exactly the pinned manifest by digest.
      await resolveImage(ref('kiln/tiny:1', proxy.host), opts({ pinned: image.manifestDigest }));
      expect(proxy.requests[0]).toBe(`GET /v2/kiln/tiny/manifests/${image.manifestDigest}`);
    } finally {
      await proxy.stop();
    }
  });

  it('re-fetches a cached blob that was corrupted on disk', async () => {
    const o = opts();
    const image = await resolveImage(ref('kiln/tiny:1'), o);
    const file = image.blobPath(image.layers[0].digest);
    const bytes = readFileSync(file);
    bytes[10] ^= 0xff;
    writeFileSync(file, bytes);
    const again = await resolveImage(ref('kiln/tiny:1'), { ...o, pinned: image.manifestDigest });
    await expectCached(again);
  });

  it('picks the architecture from a pushed index', async () => {
    const arm = await resolveImage(ref('kiln/multi:1'), opts({ arch: 'aarch64' }));
    expect(arm).toMatchObject({ manifestDigest: digests.arm, indexDigest: digests.multi });
    const amd = await resolveImage(ref(`kiln/multi@${digests.multi}`), opts());
    expect(amd.manifestDigest).toBe(digests.tiny);
  });

  it('refuses a layer whose bytes were changed in transit, keeping nothing of it', async () => {
    const layer = inspect(`oci:${layout}:tiny`).Layers[0];
    const proxy = await startProxy(registry!.host, { flipPathSuffix: `/blobs/${layer}` });
    try {
      const o = opts();
      const err = await failure(resolveImage(ref('kiln/tiny:1', proxy.host), o));
      expect(err.code).toBe('IMAGE_DIGEST');
      expect(err.message).toMatch(new RegExp(`^image "http://${proxy.host}/kiln/tiny:1": blob ${layer} does not match its digest: found sha256:[0-9a-f]{64}$`));
      expect(existsSync(path.join(o.cacheDir, 'blobs', 'sha256', layer.slice(7)))).toBe(false);
      expectNoLeftovers(o.cacheDir);
    } finally {
      await proxy.stop();
    }
  });

  it('refuses a pinned manifest whose bytes were changed', async () => {
    const proxy = await startProxy(registry!.host, { flipPathSuffix: `/manifests/${digests.tiny}` });
    try {
      const err = await failure(resolveImage(ref('kiln/tiny:1', proxy.host), opts({ pinned: digests.tiny })));
      expect(err.message).toMatch(new RegExp(`blob ${digests.tiny} does not match its digest: found sha256:[0-9a-f]{64}$`));
    } finally {
      await proxy.stop();
    }
  });

  it('says 404 for an unknown tag or pin, and unreachable for a closed port', async () => {
    expect((await failure(resolveImage(ref('kiln/tiny:2'), opts()))).message).toBe(
      `image "${ref('kiln/tiny:2')}": ${registry!.host}/kiln/tiny has no manifest 2 (HTTP 404)`,
    );
    const gone = `sha256:${'0'.repeat(64)}`;
    expect((await failure(resolveImage(ref('kiln/tiny:1'), opts({ pinned: gone })))).code).toBe('IMAGE_NOT_FOUND');
    const port = await freePort(); // nothing listens there now
    const closed = await failure(resolveImage(`http://127.0.0.1:${port}/kiln/tiny:1`, opts()));
    expect(closed.message).toBe(`image "http://127.0.0.1:${port}/kiln/tiny:1": registry http://127.0.0.1:${port} is unreachable (ECONNREFUSED)`);
  });

  it('follows the bearer token flow of a 401', async () => {
    const proxy = await startProxy(registry!.host, { bearer: { token: 'kiln-test-token', service: 'kiln-test' } });
    try {
      const image = await resolveImage(ref('kiln/tiny:1', proxy.host), opts());
      expect(image.manifestDigest).toBe(digests.tiny);
      expect(proxy.tokenRequests.map((q) => [q.get('service'), q.get('scope')])).toEqual([['kiln-test', 'repository:kiln/tiny:pull']]);
      expect(proxy.requests.slice(0, 3)).toEqual(['GET /v2/kiln/tiny/manifests/1', 'GET /token', 'GET /v2/kiln/tiny/manifests/1 (auth)']);
    } finally {
      await proxy.stop();
    }
  });

  it('says so when the token server refuses', async () => {
    const proxy = await startProxy(registry!.host, { bearer: { token: 't', service: 's', refuse: true } });
    try {
      const err = await failure(resolveImage(ref('kiln/tiny:1', proxy.host), opts()));
      expect(err).toMatchObject({
        code: 'IMAGE_AUTH',
        message: `image "${ref('kiln/tiny:1', proxy.host)}": http://${proxy.host} refused an anonymous token for kiln/tiny (HTTP 401)`,
      });
    } finally {
      await proxy.stop();
    }
  });
});

describe('writeOciLayout', () => {
  it('writes a layout that umoci lists and unpacks, and skopeo inspects', async () => {
    const cacheDir = freshCache();
    const fromRegistry = await resolveImage(`http://${registry!.host}/kiln/tiny:1`, opts({ cacheDir }));
    const fromDocker = await resolveImage('docker-archive:tiny-docker.tar', opts({ cacheDir }));
    const fromArm = await resolveImage('oci:layout:multi', opts({ cacheDir, arch: 'aarch64' }));
    const out = path.join(work, 'out-layout');
    await writeOciLayout(out, [
      { name: 'registry', image: fromRegistry },
      { name: 'docker', image: fromDocker },
      { name: 'arm', image: fromArm },
    ]);
    expect(tool('umoci', ['ls', '--layout', out]).trim().split('\n').sort()).toEqual(['arm', 'docker', 'registry']);
    expect(inspect(`oci:${out}:registry`).Digest).toBe(fromRegistry.manifestDigest);
    expect(inspect(`oci:${out}:arm`).Architecture).toBe('arm64');
    // The converted docker-archive image unpacks to the busybox that went in.
    const bundle = path.join(work, 'bundle');
    tool('umoci', ['unpack', '--rootless', '--image', `${out}:docker`, bundle]);
    expect(readFileSync(path.join(bundle, 'rootfs', 'bin', 'busybox')).equals(readFileSync(BUSYBOX))).toBe(true);
  });
});
