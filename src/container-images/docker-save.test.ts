import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeDockerSaveManifest, encodeOciManifest, selectDockerSaveEntry } from './docker-save.js';
import { decodeManifest } from './manifest.js';

const entries = [
  { Config: 'aa.json', RepoTags: ['acme/app:1', 'acme/app:latest'], Layers: ['l1/layer.tar'] },
  { Config: 'bb.json', RepoTags: null, Layers: [] },
];

describe('docker save manifest.json', () => {
  it('decodes and selects by tag, with or without the docker.io prefix', () => {
    const decoded = decodeDockerSaveManifest(Buffer.from(JSON.stringify(entries)));
    expect(selectDockerSaveEntry(decoded, 'acme/app:latest')?.Config).toBe('aa.json');
    expect(selectDockerSaveEntry(decoded, 'docker.io/acme/app:1')?.Config).toBe('aa.json');
    expect(selectDockerSaveEntry([{ ...decoded[1], RepoTags: ['docker.io/library/busybox:1'] }], 'busybox:1')?.Config).toBe('bb.json');
    expect(selectDockerSaveEntry(decoded, 'acme/app:2')).toBeUndefined();
    expect(selectDockerSaveEntry(decoded)).toBeUndefined(); // two images, no name
    expect(selectDockerSaveEntry([decoded[0]])?.Config).toBe('aa.json');
  });
  it('names what is wrong', () => {
    expect(() => decodeDockerSaveManifest(Buffer.from('[]'))).toThrow(/^Cannot decode docker-archive manifest.json: \(top\): /);
    expect(() => decodeDockerSaveManifest(Buffer.from('[{"Config":"a","Layers":[1]}]'))).toThrow(/^Cannot decode docker-archive manifest.json: 0.Layers.0: /);
  });
});

describe('encodeOciManifest', () => {
  const d = (c: string) => `sha256:${c.repeat(64)}`;
  const bytes = encodeOciManifest({ digest: d('1'), size: 10 }, [
    { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: d('2'), size: 20, annotations: { x: 'y' } },
  ]);
  it('is compact JSON with a fixed key order (golden digest)', () => {
    expect(bytes.toString()).toBe(
      `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"${d('1')}","size":10},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"${d('2')}","size":20}]}`,
    );
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(
      createHash('sha256')
        .update(encodeOciManifest({ digest: d('1'), size: 10 }, [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: d('2'), size: 20 }]))
        .digest('hex'),
    );
  });
  it('round-trips through decodeManifest', () => {
    expect(decodeManifest(bytes)).toMatchObject({ kind: 'manifest', config: { digest: d('1'), size: 10 }, layers: [{ digest: d('2'), size: 20 }] });
  });
});
