import { describe, expect, it } from 'vitest';
import { layerCompression, ociLayerType, sniffCompression } from './media-types.js';

describe('layer media types', () => {
  it('knows the compression of OCI and Docker layer types', () => {
    expect(layerCompression('application/vnd.oci.image.layer.v1.tar')).toBe('none');
    expect(layerCompression('application/vnd.oci.image.layer.v1.tar+gzip')).toBe('gzip');
    expect(layerCompression('application/vnd.oci.image.layer.v1.tar+zstd')).toBe('zstd');
    expect(layerCompression('application/vnd.docker.image.rootfs.diff.tar.gzip')).toBe('gzip');
    expect(layerCompression('application/vnd.oci.image.config.v1+json')).toBeUndefined();
  });
  it('sniffs gzip and zstd magic numbers, anything else is tar', () => {
    expect(sniffCompression(Uint8Array.of(0x1f, 0x8b, 8, 0))).toBe('gzip');
    expect(sniffCompression(Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0))).toBe('zstd');
    expect(sniffCompression(Uint8Array.of(0x28, 0xb5, 0x2f))).toBe('none');
    expect(sniffCompression(Buffer.from('bin/busybox\0'))).toBe('none');
    expect(ociLayerType('zstd')).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
    expect(ociLayerType('none')).toBe('application/vnd.oci.image.layer.v1.tar');
  });
});
