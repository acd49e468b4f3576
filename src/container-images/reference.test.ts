import { describe, expect, it } from 'vitest';
import { isLoopback, parseImageRef } from './reference.js';

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

const D = `sha256:${'ab'.repeat(32)}`;

describe('parseImageRef', () => {
  it('reads the file transports, splitting the tag at the first colon', () => {
    expect(parseImageRef('oci:images/app')).toEqual({ transport: 'oci', path: 'images/app' });
    expect(parseImageRef('oci:images/app:v1.2')).toEqual({ transport: 'oci', path: 'images/app', tag: 'v1.2' });
    expect(parseImageRef('oci-archive:app.tar:latest')).toEqual({ transport: 'oci-archive', path: 'app.tar', tag: 'latest' });
    expect(parseImageRef('docker-archive:app.tar')).toEqual({ transport: 'docker-archive', path: 'app.tar' });
    expect(parseImageRef('docker-archive:app.tar:acme/app:1')).toEqual({ transport: 'docker-archive', path: 'app.tar', name: 'acme/app:1' });
  });

  it('reads registry references with tag, digest, port and default tag', () => {
    expect(parseImageRef('ghcr.io/acme/app:1.2')).toEqual({
      transport: 'registry',
      origin: 'https://ghcr.io',
      name: 'ghcr.io/acme/app',
      repository: 'acme/app',
      tag: '1.2',
    });
    expect(parseImageRef(`registry.local:5000/app@${D}`)).toEqual({
      transport: 'registry',
      origin: 'https://registry.local:5000',
      name: 'registry.local:5000/app',
      repository: 'app',
      digest: D,
    });
    expect(parseImageRef('quay.io/a/b')).toMatchObject({ tag: 'latest' });
    expect(parseImageRef(`docker://quay.io/a/b:1@${D}`)).toMatchObject({ tag: '1', digest: D, origin: 'https://quay.io' });
    expect(parseImageRef('localhost:5000/x')).toMatchObject({ origin: 'https://localhost:5000', repository: 'x' });
  });

  it('maps docker.io to its API host and library/', () => {
    expect(parseImageRef('docker.io/busybox:1.36')).toMatchObject({
      origin: 'https://registry-1.docker.io',
      repository: 'library/busybox',
      name: 'docker.io/busybox',
    });
    expect(parseImageRef('docker.io/acme/app')).toMatchObject({ repository: 'acme/app' });
  });

  it('allows plain HTTP to loopback registries only', () => {
    expect(parseImageRef('http://127.0.0.1:5000/kiln/tiny:1')).toMatchObject({ origin: 'http://127.0.0.1:5000', repository: 'kiln/tiny' });
    expect(parseImageRef('http://localhost/x')).toMatchObject({ origin: 'http://localhost' });
    expect(() => parseImageRef('http://registry.example/x')).toThrow('image "http://registry.example/x": plain HTTP is only allowed to this machine');
  });

  it('rejects docker.io short names, telling the user to write the host', () => {
    expect(() => parseImageRef('busybox:1.36')).toThrow('image "busybox:1.36": no registry host');
    expect(caught(() => parseImageRef('library/busybox'))).toMatchObject({
      code: 'IMAGE_REF',
      hint: 'kiln does not guess docker.io: write the registry, e.g. docker.io/library/busybox',
    });
    expect(caught(() => parseImageRef('busybox:1.36'))).toMatchObject({
      hint: 'kiln does not guess docker.io: write the registry, e.g. docker.io/library/busybox:1.36',
    });
  });

  it('rejects bad tags, digests, repositories and paths with one line each', () => {
    expect(() => parseImageRef('oci:')).toThrow('image "oci:": no path');
    expect(() => parseImageRef('oci:dir:bad tag')).toThrow('"bad tag" is not a valid tag');
    expect(() => parseImageRef('ghcr.io/a/b@sha256:abc')).toThrow('"sha256:abc" is not a sha256 digest');
    expect(() => parseImageRef('ghcr.io/Acme/app')).toThrow('"Acme/app" is not a repository name');
    expect(() => parseImageRef('ftp://ghcr.io/a')).toThrow('unknown scheme');
  });
});

describe('isLoopback', () => {
  it.each([
    ['127.0.0.1:5000', true],
    ['127.1.2.3', true],
    ['localhost:80', true],
    ['[::1]:5000', true],
    ['128.0.0.1', false],
    ['localhost.example.com', false],
    ['ghcr.io', false],
  ])('%s → %s', (host, want) => expect(isLoopback(host)).toBe(want));
});
