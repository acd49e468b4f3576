import { describe, expect, it } from 'vitest';
import type { Descriptor } from './manifest.js';
import { listPlatforms, platformMatches, selectPlatform } from './platform.js';

const entry = (n: number, architecture: string, variant?: string, os = 'linux'): Descriptor => ({
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: `sha256:${String(n).padStart(64, '0')}`,
  size: n,
  platform: { architecture, os, ...(variant ? { variant } : {}) },
});

describe('selectPlatform', () => {
  const index = [entry(1, 'arm', 'v7'), entry(2, 'amd64'), entry(3, 'arm64', 'v8'), entry(4, 'unknown', undefined, 'unknown')];
  it('takes amd64 for x86_64 and arm64 (v8) for aarch64', () => {
    expect(selectPlatform(index, 'x86_64')?.size).toBe(2);
    expect(selectPlatform(index, 'aarch64')?.size).toBe(3);
    expect(selectPlatform([entry(5, 'arm64')], 'aarch64')?.size).toBe(5);
  });
  it('skips other OSes, other arm variants and entries without a platform', () => {
    expect(selectPlatform([entry(1, 'amd64', undefined, 'windows')], 'x86_64')).toBeUndefined();
    expect(selectPlatform([entry(1, 'arm64', 'v9')], 'aarch64')).toBeUndefined();
    expect(selectPlatform([{ ...entry(1, 'amd64'), platform: undefined }], 'x86_64')).toBeUndefined();
  });
  it('lists what is there for the error, attestations left out', () => {
    expect(listPlatforms(index)).toBe('linux/arm/v7, linux/amd64, linux/arm64/v8');
    expect(listPlatforms([])).toBe('none');
  });
  it('checks a config platform', () => {
    expect(platformMatches({ architecture: 'amd64', os: 'linux' }, 'aarch64')).toBe(false);
    expect(platformMatches({ architecture: 'arm64', os: 'linux', variant: 'v8' }, 'aarch64')).toBe(true);
  });
});
