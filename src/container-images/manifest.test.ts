import { describe, expect, it } from 'vitest';
import { decodeImageConfig, decodeManifest } from './manifest.js';
import { DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST } from './media-types.js';

const d = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;
const enc = (v: unknown) => Buffer.from(JSON.stringify(v));
const manifest = {
  schemaVersion: 2,
  mediaType: OCI_MANIFEST,
  config: { mediaType: OCI_CONFIG, digest: d(1), size: 100 },
  layers: [
    { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d(2), size: 200 },
    { mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', digest: d(3), size: 300 },
    { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: d(4), size: 400 },
  ],
};

describe('decodeManifest', () => {
  it('decodes an OCI image manifest', () => {
    const m = decodeManifest(enc(manifest));
    expect(m).toEqual({ kind: 'manifest', mediaType: OCI_MANIFEST, config: manifest.config, layers: manifest.layers });
  });

  it('decodes Docker v2 manifests and manifest lists, the type from the container when the body has none', () => {
    const docker = {
      ...manifest,
      mediaType: undefined,
      config: { ...manifest.config, mediaType: 'application/vnd.docker.container.image.v1+json' },
      layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: d(2), size: 2 }],
    };
    expect(decodeManifest(enc(docker), `${DOCKER_MANIFEST}; charset=utf-8`)).toMatchObject({ kind: 'manifest', mediaType: DOCKER_MANIFEST });
    const list = { schemaVersion: 2, manifests: [{ mediaType: DOCKER_MANIFEST, digest: d(5), size: 5, platform: { architecture: 'amd64', os: 'linux' } }] };
    expect(decodeManifest(enc(list), DOCKER_MANIFEST_LIST)).toMatchObject({ kind: 'index', mediaType: DOCKER_MANIFEST_LIST, manifests: [{ digest: d(5) }] });
    expect(decodeManifest(enc(list))).toMatchObject({ kind: 'index', mediaType: OCI_INDEX });
  });

  it('names the field that is wrong', () => {
    const bad = { ...manifest, layers: [{ ...manifest.layers[0], digest: 'sha256:xyz' }] };
    expect(() => decodeManifest(enc(bad))).toThrow('Cannot decode image manifest: layers.0.digest: expected "sha256:" and 64 lowercase hex digits');
    expect(() => decodeManifest(enc({ ...manifest, config: undefined }))).toThrow(/^Cannot decode image manifest: config: /);
    expect(() => decodeManifest(Buffer.from('{"schema'))).toThrow(/^Cannot decode image manifest: not JSON/);
    expect(() => decodeManifest(enc([1]))).toThrow('Cannot decode image manifest: not a JSON object');
  });

  it('refuses schema 1, artifacts and unknown layer types', () => {
    expect(() => decodeManifest(enc({ schemaVersion: 1, fsLayers: [] }))).toThrow('Docker schema 1 is not supported');
    expect(() => decodeManifest(enc({ ...manifest, config: { ...manifest.config, mediaType: 'application/vnd.cncf.helm.config.v1+json' } }))).toThrow(
      'config media type application/vnd.cncf.helm.config.v1+json is not a container image',
    );
    expect(() => decodeManifest(enc({ ...manifest, layers: [{ ...manifest.layers[0], mediaType: 'application/x-foo' }] }))).toThrow(
      'layers.0: media type application/x-foo is not a tar, tar+gzip or tar+zstd layer',
    );
    expect(() => decodeManifest(enc(manifest), 'application/vnd.oci.image.config.v1+json')).not.toThrow(); // the body's own mediaType wins
    expect(() => decodeManifest(enc({ ...manifest, mediaType: undefined }), 'application/vnd.oci.image.config.v1+json')).toThrow(
      'media type application/vnd.oci.image.config.v1+json is not an image manifest or index',
    );
  });
});

describe('decodeImageConfig', () => {
  it('reads the platform', () => {
    expect(decodeImageConfig(enc({ architecture: 'arm64', os: 'linux', variant: 'v8', rootfs: {} }))).toEqual({
      architecture: 'arm64',
      os: 'linux',
      variant: 'v8',
    });
    expect(() => decodeImageConfig(enc({ os: 'linux' }))).toThrow(/^Cannot decode image config: architecture: /);
  });
});
