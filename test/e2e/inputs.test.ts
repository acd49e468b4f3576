/**
 * Pinned inputs against the real archives: a warm cache needs no network, a corrupt cached file is fetched again.
 * The cache is a private copy made of hard links to the user's cache (no download), except for the one file the
 * test corrupts, which is a real copy so the user's cache stays intact.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { kiln } from '../helpers/cli.js';
import { seedCache } from '../helpers/seed-cache.js';

const root = path.resolve(import.meta.dirname, '../..');
let work: string;
let cache: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'kiln-inputs-e2e-'));
  // Make sure every input of the example is in the user's cache (downloads on a cold machine).
  const warm = await kiln(['lock', 'examples/minimal.yml']);
  expect(warm.code).toBe(0);
  cache = path.join(work, 'xdg');
  seedCache(cache);
}, 600_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

test('with a warm cache and kiln.lock, resolving needs no network', async () => {
  const aptConf = path.join(work, 'apt-offline.conf');
  await writeFile(aptConf, 'Acquire::http::Proxy "http://127.0.0.1:9";\nAcquire::https::Proxy "http://127.0.0.1:9";\n');
  const r = await kiln(['lock', 'examples/minimal.yml', '--json'], {
    env: { XDG_CACHE_HOME: cache, APT_CONFIG: aptConf, npm_config_proxy: 'http://127.0.0.1:9', npm_config_https_proxy: 'http://127.0.0.1:9' },
  });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout).map((e: { role: string }) => e.role)).toContain('kernel');
});

test('a corrupt cached input is detected by its hash and fetched again', async () => {
  const lock = JSON.parse(await readFile(path.join(root, 'examples/kiln.lock'), 'utf8'));
  const stub = lock.inputs['x86_64/stub'];
  const blob = path.join(cache, 'kiln', 'blobs', 'sha256', stub.sha256);
  const bytes = await readFile(blob);
  bytes[100] ^= 0xff;
  await rm(blob); // break the hard link: only the private copy is corrupted
  await writeFile(blob, bytes);
  const r = await kiln(['lock', 'examples/minimal.yml'], { env: { XDG_CACHE_HOME: cache } });
  expect(r.code).toBe(0);
  expect(r.stderr).toContain(`kiln: fetching x86_64/stub: systemd-boot-efi ${stub.version}`);
  const again = await readFile(blob);
  const { createHash } = await import('node:crypto');
  expect(createHash('sha256').update(again).digest('hex')).toBe(stub.sha256);
}, 300_000);
