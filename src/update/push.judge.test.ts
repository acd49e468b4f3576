// kiln push judged by tools nobody here wrote: two small fake "EFI" files (no kernel build: the format is what is
// tested) pushed as one firmware artifact to Debian's docker-registry on loopback; skopeo then reads the index and
// each manifest, copies the whole artifact into an oci: folder, and the device's picker reads that copy back to
// the same EFI bytes and a signature that verifies. Missing tools fail the suite (requireTools), never skip it.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firmwareLayers, pickFirmware } from '../../device/contract/update/artifact-pick.ts';
import { statementSignedBy } from '../../device/contract/update/statement.ts';
import { freePort, requireTools, startProxy, startRegistry, tool, type Registry } from '../container-images/_testing.js';
import { KilnError } from '../util/errors.js';
import { silentReporter, type Reporter } from '../util/report.js';
import { parsePushTarget, pushFirmware, type PushFirmware } from './push.js';
import { releaseOf } from './release.js';

const work = mkdtempSync(path.join(tmpdir(), 'kiln-push-'));
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
let registry: Registry | undefined;
const firmwares: PushFirmware[] = [];
const efiBytes: Record<string, Buffer> = {};

/** A few KiB that start like a PE file and differ per architecture. */
function fakeEfi(arch: 'x86_64' | 'aarch64', size: number): string {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * (arch === 'x86_64' ? 31 : 57) + 7) & 0xff;
  bytes.write('MZ', 0, 'latin1');
  const file = path.join(work, `${arch}.efi`);
  writeFileSync(file, bytes);
  efiBytes[arch] = bytes;
  return file;
}

const skopeoRaw = (ref: string) => JSON.parse(tool('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`])) as Record<string, any>;
const target = (host: string, tag = '1.4.2') => parsePushTarget(`http://${host}/fleet/gateway:${tag}`);

async function failure(promise: Promise<unknown>): Promise<KilnError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof KilnError)) throw new Error(`expected a KilnError, got ${error === undefined ? 'success' : String(error)}`);
  return error;
}

beforeAll(async () => {
  requireTools(['skopeo', 'docker-registry']);
  registry = await startRegistry(path.join(work, 'registry'));
  for (const [arch, size, buildId] of [
    ['x86_64', 6144, '0123456789abcdef'],
    ['aarch64', 9000, 'fedcba9876543210'],
  ] as const) {
    const efi = fakeEfi(arch, size);
    const release = await releaseOf({ name: 'gateway', arch, efi, size, buildId }, '1.4.2', privateKey, work);
    firmwares.push({ payloadPath: release.payload, statementBytes: release.signed.bytes, signature: release.signed.signature });
  }
}, 60_000);

afterAll(async () => {
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('kiln push to a registry', () => {
  let pushed: Awaited<ReturnType<typeof pushFirmware>>;
  beforeAll(async () => {
    const steps: string[] = [];
    const reporter: Reporter = { ...silentReporter, step: (m) => steps.push(m) };
    pushed = await pushFirmware(target(registry!.host), firmwares, { reporter });
    expect(steps).toEqual([`pushing ${registry!.host}/fleet/gateway:1.4.2 (x86_64, aarch64)`]);
  });

  it('tags an image index of both platforms, with the artifact type, as skopeo reads it', () => {
    const index = skopeoRaw(`${registry!.host}/fleet/gateway:1.4.2`);
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(index.artifactType).toBe('application/vnd.kiln.firmware.v1');
    expect(index.manifests.map((m: any) => [m.platform, m.digest, m.artifactType])).toEqual([
      [{ architecture: 'amd64', os: 'linux' }, pushed.manifests[0]!.digest, 'application/vnd.kiln.firmware.v1'],
      [{ architecture: 'arm64', os: 'linux' }, pushed.manifests[1]!.digest, 'application/vnd.kiln.firmware.v1'],
    ]);
    // The tag names exactly the index kiln pushed: skopeo computes the digest of the bytes the registry serves.
    const raw = path.join(work, 'index.raw');
    writeFileSync(raw, tool('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry!.host}/fleet/gateway:1.4.2`]));
    expect(tool('skopeo', ['manifest-digest', raw]).trim()).toBe(pushed.digest);
  });

  it("puts each architecture's manifest by digest, with its two layers and the annotations", () => {
    for (const [i, arch] of (['x86_64', 'aarch64'] as const).entries()) {
      const manifest = skopeoRaw(`${registry!.host}/fleet/gateway@${pushed.manifests[i]!.digest}`);
      expect(manifest.artifactType).toBe('application/vnd.kiln.firmware.v1');
      expect(manifest.config).toEqual({
        mediaType: 'application/vnd.oci.empty.v1+json',
        digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
        size: 2,
      });
      expect(manifest.layers.map((l: any) => [l.mediaType, l.size])).toEqual([
        ['application/vnd.kiln.firmware.efi.v1', efiBytes[arch]!.length],
        ['application/vnd.kiln.firmware.statement.v1+json', firmwares[i]!.statementBytes.length],
      ]);
      expect(manifest.annotations).toEqual({
        'dev.kiln.arch': arch,
        'dev.kiln.build-id': arch === 'x86_64' ? '0123456789abcdef' : 'fedcba9876543210',
        'dev.kiln.signature': Buffer.from(firmwares[i]!.signature).toString('base64'),
        'org.opencontainers.image.title': 'gateway',
        'org.opencontainers.image.version': '1.4.2',
      });
    }
  });

  it("survives skopeo's copy into an oci: folder, from which the device's picker gets the same EFI bytes and a good signature", () => {
    const copy = path.join(work, 'copy');
    tool('skopeo', ['copy', '-q', '--all', '--src-tls-verify=false', `docker://${registry!.host}/fleet/gateway:1.4.2`, `oci:${copy}:fw`]);
    const blob = (digest: string) => readFileSync(path.join(copy, 'blobs', 'sha256', digest.slice('sha256:'.length)));
    const top = JSON.parse(readFileSync(path.join(copy, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const index = blob(top.manifests[0]!.digest);
    for (const arch of ['x86_64', 'aarch64'] as const) {
      const pick = pickFirmware(index, arch);
      if (pick.kind !== 'index') throw new Error('expected an index');
      const layers = firmwareLayers(blob(pick.manifest.digest), arch);
      expect(blob(layers.payload.digest).equals(efiBytes[arch]!)).toBe(true);
      expect(statementSignedBy(blob(layers.statement.digest), layers.signature, publicKey)).toBe(true);
      expect(JSON.parse(blob(layers.statement.digest).toString())).toMatchObject({ arch, size: efiBytes[arch]!.length, version: '1.4.2' });
    }
  });

  it('uploads no blob again on a second push of the same content: a HEAD each, then the manifests', async () => {
    expect(pushed.uploaded).toHaveLength(5); // the empty config, and an EFI and a statement per architecture
    const proxy = await startProxy(registry!.host);
    try {
      const again = await pushFirmware(target(proxy.host), firmwares, { reporter: silentReporter });
      expect({ digest: again.digest, uploaded: again.uploaded, present: again.present }).toEqual({
        digest: pushed.digest,
        uploaded: [],
        present: pushed.uploaded,
      });
      expect(proxy.requests.filter((r) => !r.startsWith('HEAD /v2/fleet/gateway/blobs/'))).toEqual([
        `PUT /v2/fleet/gateway/manifests/${pushed.manifests[0]!.digest}`,
        `PUT /v2/fleet/gateway/manifests/${pushed.manifests[1]!.digest}`,
        'PUT /v2/fleet/gateway/manifests/1.4.2',
      ]);
      expect(proxy.requests.filter((r) => r.startsWith('HEAD'))).toHaveLength(5);
    } finally {
      await proxy.stop();
    }
  });

  it("follows the bearer token flow of a 401 (the scope is the challenge's)", async () => {
    const proxy = await startProxy(registry!.host, { bearer: { token: 'kiln-push-token', service: 'kiln-test' } });
    try {
      const result = await pushFirmware(target(proxy.host, 'bearer'), firmwares, { reporter: silentReporter });
      expect(result.digest).toBe(pushed.digest);
      expect(proxy.requests.slice(0, 3)).toEqual([
        'HEAD /v2/fleet/gateway/blobs/sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
        'GET /token',
        'HEAD /v2/fleet/gateway/blobs/sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a (auth)',
      ]);
      expect(Object.fromEntries(proxy.tokenRequests[0]!)).toEqual({ service: 'kiln-test', scope: 'repository:fleet/gateway:pull' });
      expect(skopeoRaw(`${registry!.host}/fleet/gateway:bearer`).manifests).toHaveLength(2);
    } finally {
      await proxy.stop();
    }
  });

  it('says in one line when the registry is not there or refuses the token', async () => {
    const closed = `127.0.0.1:${await freePort()}`;
    const gone = await failure(pushFirmware(target(closed), firmwares, { reporter: silentReporter }));
    expect({ code: gone.code, message: gone.message, hint: gone.hint }).toEqual({
      code: 'PUSH_UNREACHABLE',
      message: `registry http://${closed} is unreachable (ECONNREFUSED)`,
      hint: 'is the registry running?',
    });
    const proxy = await startProxy(registry!.host, { bearer: { token: 't', service: 's', refuse: true } });
    try {
      const refused = await failure(pushFirmware(target(proxy.host), firmwares, { reporter: silentReporter }));
      expect(refused.code).toBe('PUSH_AUTH');
      expect(refused.message).toBe(`http://${proxy.host} refused an anonymous token for fleet/gateway (HTTP 401)`);
    } finally {
      await proxy.stop();
    }
  });
});
