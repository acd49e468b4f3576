import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasZstd } from './decompress.ts';
import { parseImageConfig } from './image-config.ts';
import { openImageStore, prepareRootfs, REF_NAME_ANNOTATION, type Descriptor } from './image-store.ts';
import { deviceNode } from '../../test/helpers/device-node.ts';

const work = mkdtempSync(path.join(os.tmpdir(), 'kiln-store-'));
const layout = path.join(work, 'oci');
afterAll(() => rmSync(work, { recursive: true, force: true }));

const sha = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function blob(bytes: Uint8Array | string, mediaType: string, extra: Partial<Descriptor> = {}): Descriptor {
  const data = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  const digest = sha(data);
  mkdirSync(path.join(layout, 'blobs/sha256'), { recursive: true });
  writeFileSync(path.join(layout, 'blobs/sha256', digest.slice(7)), data);
  return { mediaType, digest, size: data.length, ...extra };
}

/** A tar of `files` by GNU tar (the independent writer). */
function tarOf(name: string, files: Record<string, string>): Buffer {
  const dir = path.join(work, name);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  }
  return execFileSync('tar', ['--format=posix', '--sort=name', '-cf', '-', '-C', dir, ...Object.keys(files)]);
}

function image(arch: string, layers: { tar: Buffer; bytes: Buffer; mediaType: string }[], config: Record<string, unknown> = {}): Descriptor {
  const cfg = blob(
    JSON.stringify({ architecture: arch, os: 'linux', config, rootfs: { type: 'layers', diff_ids: layers.map((l) => sha(l.tar)) } }),
    'application/vnd.oci.image.config.v1+json',
  );
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: cfg,
    layers: layers.map((l) => blob(l.bytes, l.mediaType)),
  };
  return blob(JSON.stringify(manifest), 'application/vnd.oci.image.manifest.v1+json', { platform: { architecture: arch, os: 'linux' } });
}

let amd64: Descriptor;
let arm64: Descriptor;
let zst: Descriptor;

beforeAll(() => {
  const base = tarOf('base', { 'etc/hostname': 'base\n', 'etc/gone': 'gone\n', 'app/run': 'run\n' });
  const top = tarOf('top', { 'etc/.wh.gone': '', 'etc/new': 'new\n' });
  // A plain layer labelled gzip: the magic bytes decide, not the label.
  amd64 = image(
    'amd64',
    [
      { tar: base, bytes: gzipSync(base), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' },
      { tar: top, bytes: top, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' },
    ],
    { Entrypoint: ['/app/run'], Cmd: null, Env: ['PATH=/bin', 'A=1'], WorkingDir: '/app', User: '1000:1000' },
  );
  arm64 = image('arm64', [{ tar: base, bytes: gzipSync(base), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }]);
  const multi = blob(JSON.stringify({ schemaVersion: 2, manifests: [amd64, arm64] }), 'application/vnd.oci.image.index.v1+json', {
    annotations: { [REF_NAME_ANNOTATION]: 'multi' },
  });
  const zstTar = tarOf('zst', { 'z/file': 'zstd\n' });
  zst = image(
    'amd64',
    [{ tar: zstTar, bytes: execFileSync('zstd', ['-q', '-c'], { input: zstTar }), mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' }],
    { Cmd: ['sh'] },
  );
  writeFileSync(path.join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    path.join(layout, 'index.json'),
    JSON.stringify({ schemaVersion: 2, manifests: [multi, { ...zst, annotations: { [REF_NAME_ANNOTATION]: 'zst' } }] }),
  );
});

describe('openImageStore', () => {
  it('finds an image by name, picking the platform in an index, and by digest', async () => {
    const store = await openImageStore(layout);
    expect((await store.findManifest('multi', { os: 'linux', architecture: 'amd64' })).digest).toBe(amd64.digest);
    expect((await store.findManifest('multi', { os: 'linux', architecture: 'arm64' })).digest).toBe(arm64.digest);
    expect((await store.findManifest(arm64.digest)).digest).toBe(arm64.digest);
    await expect(store.findManifest('multi', { os: 'linux', architecture: 's390x' })).rejects.toThrow(
      `${layout}: image "multi" has no linux/s390x manifest (has linux/amd64, linux/arm64)`,
    );
  });

  it('refuses a folder that is not an image layout', async () => {
    await expect(openImageStore(work)).rejects.toThrow(`Cannot read ${work}/oci-layout: ENOENT`);
  });

  it('stacks the layers and parses the config', async () => {
    const store = await openImageStore(layout);
    const prepared = await prepareRootfs(store, 'multi', path.join(work, 'roots'), { platform: { os: 'linux', architecture: 'amd64' } }); // fsync: the default
    expect(readFileSync(path.join(prepared.rootfs, 'etc/new'), 'utf8')).toBe('new\n');
    expect(existsSync(path.join(prepared.rootfs, 'etc/gone'))).toBe(false);
    expect(prepared.image).toEqual({
      entrypoint: ['/app/run'],
      cmd: [],
      env: ['PATH=/bin', 'A=1'],
      workingDir: '/app',
      user: '1000:1000',
      architecture: 'amd64',
      os: 'linux',
      diffIds: expect.any(Array),
    });
  });

  it('unpacks a zstd layer', async () => {
    const roots = path.join(work, 'roots-zst');
    if (hasZstd()) {
      const prepared = await prepareRootfs(await openImageStore(layout), 'zst', roots, { fsync: false });
      expect(readFileSync(path.join(prepared.rootfs, 'z/file'), 'utf8')).toBe('zstd\n');
      return;
    }
    // The host's Node (20) has no zstd; the device's Node 26 runs the same code.
    const script = `import { openImageStore, prepareRootfs } from ${JSON.stringify(path.join(import.meta.dirname, 'image-store.ts'))};
const p = await prepareRootfs(await openImageStore(process.argv[1]), 'zst', process.argv[2], { fsync: false });
console.log(JSON.stringify(p));`;
    const r = spawnSync(deviceNode(), ['--input-type=module', '-e', script, layout, roots], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`device Node failed: ${r.stderr}`);
    const prepared = JSON.parse(r.stdout) as { rootfs: string; image: { cmd: string[] } };
    expect(readFileSync(path.join(prepared.rootfs, 'z/file'), 'utf8')).toBe('zstd\n');
    expect(prepared.image.cmd).toEqual(['sh']);
    // On a fresh machine deviceNode() builds examples/minimal.yml first.
  }, 600_000);
});

describe('parseImageConfig', () => {
  it('defaults what the image leaves out', () => {
    const config = parseImageConfig(Buffer.from(JSON.stringify({ architecture: 'arm64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } })));
    expect(config).toEqual({ entrypoint: [], cmd: [], env: [], workingDir: '', user: '', architecture: 'arm64', os: 'linux', diffIds: [] });
  });

  it('names the key that is wrong', () => {
    const bad = { architecture: 'amd64', os: 'linux', config: { Cmd: 'sh' }, rootfs: { type: 'layers', diff_ids: [] } };
    expect(() => parseImageConfig(Buffer.from(JSON.stringify(bad)))).toThrow(/^Invalid image config: config\.Cmd: /);
    expect(() => parseImageConfig(Buffer.from('{'))).toThrow(/^Invalid image config: not JSON: /);
  });
});
