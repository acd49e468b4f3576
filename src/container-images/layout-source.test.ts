import { describe, expect, it } from 'vitest';
import { findLayoutEntry, REF_NAME } from './layout-source.js';
import type { Descriptor } from './manifest.js';

const entry = (n: number, tag?: string, architecture?: string): Descriptor => ({
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: `sha256:${String(n).padStart(64, '0')}`,
  size: n,
  ...(tag ? { annotations: { [REF_NAME]: tag } } : {}),
  ...(architecture ? { platform: { architecture, os: 'linux' } } : {}),
});

describe('findLayoutEntry', () => {
  it('matches the ref.name annotation, or takes the only entry', () => {
    expect(findLayoutEntry('oci:x:b', [entry(1, 'a'), entry(2, 'b')], 'b', 'x86_64').size).toBe(2);
    expect(findLayoutEntry('oci:x', [entry(3)], undefined, 'x86_64').size).toBe(3);
  });
  it('chooses by platform among entries sharing a tag', () => {
    const both = [entry(1, 'app', 'amd64'), entry(2, 'app', 'arm64')];
    expect(findLayoutEntry('oci:x:app', both, 'app', 'aarch64').size).toBe(2);
    expect(() => findLayoutEntry('oci:x:app', [both[0], both[0]], 'app', 'aarch64')).toThrow('image "oci:x:app": no aarch64 image (platforms: linux/amd64)');
  });
  it('lists the tags when the tag is unknown or missing', () => {
    expect(() => findLayoutEntry('oci:x:c', [entry(1, 'a'), entry(2, 'b')], 'c', 'x86_64')).toThrow('image "oci:x:c": no tag "c" in the layout (tags: a, b)');
    expect(() => findLayoutEntry('oci:x', [entry(1, 'a'), entry(2)], undefined, 'x86_64')).toThrow(
      'image "oci:x": the layout holds 2 images; name one (tags: a)',
    );
    expect(() => findLayoutEntry('oci:x', [], undefined, 'x86_64')).toThrow('image "oci:x": the layout\'s index.json lists no images');
  });
});
