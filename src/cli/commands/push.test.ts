/**
 * kiln push from the command line: every bad input is one line before anything is built, and the whole flow —
 * the build stubbed by two small files, so no kernel is involved — prints the pushed digests that Debian's
 * docker-registry then serves.
 */
import { generateKeyPairSync } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import type { BuildResult } from '../../pipeline/build.js';
import { freePort, requireTools, startRegistry, type Registry } from '../../container-images/_testing.js';
import { run } from '../main.js';

const builds = vi.hoisted(() => ({ calls: 0, dir: '' }));
vi.mock('./build.js', async (original) => ({
  ...(await original<typeof import('./build.js')>()),
  // Two architectures "built" as a few KiB each, into the folder kiln push gives the build.
  runBuild: async (config: { config: { layout: string } }, opts: { out: string }) => {
    builds.calls++;
    builds.dir = opts.out;
    if (config.config.layout === 'source') {
      // layout: source: the UKI, and the stick's tree beside it (this architecture's folder with its build stamp, src/).
      const efi = path.join(opts.out, 'BOOTX64.EFI');
      writeFileSync(efi, Buffer.alloc(4096, 0x4d));
      mkdirSync(path.join(opts.out, 'linux_amd64'), { recursive: true });
      mkdirSync(path.join(opts.out, 'src/kiln'), { recursive: true });
      writeFileSync(path.join(opts.out, 'linux_amd64/kiln-build'), 'fedcba9876543210');
      writeFileSync(path.join(opts.out, 'src/kiln/main.ts'), 'export {};\n');
      const files = ['linux_amd64/kiln-build', 'src/kiln/main.ts'];
      return [{ name: 'gw', arch: 'x86_64', efi, size: 4096, buildId: 'fedcba9876543210', stick: { dir: opts.out, files } } as unknown as BuildResult];
    }
    return (['x86_64', 'aarch64'] as const).map((arch, i) => {
      const efi = path.join(opts.out, arch === 'x86_64' ? 'BOOTX64.EFI' : 'BOOTAA64.EFI');
      writeFileSync(efi, Buffer.alloc(4096 + i, 0x4d));
      return { name: 'gw', arch, efi, size: 4096 + i, buildId: `${i}123456789abcdef` } as BuildResult;
    });
  },
}));

const dir = mkdtempSync(path.join(tmpdir(), 'kiln-push-cli-'));
let registry: Registry | undefined;
beforeAll(async () => {
  requireTools(['docker-registry']);
  writeFileSync(path.join(dir, 'kiln.yml'), 'name: gw\nversion: 1.4.2\narch: [x86_64, aarch64]\n');
  writeFileSync(path.join(dir, 'source.yml'), 'name: gw\nlayout: source\n');
  writeFileSync(path.join(dir, 'update.key'), generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
  registry = await startRegistry(path.join(dir, 'registry'));
}, 30_000);
afterAll(async () => {
  await registry?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function kiln(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d));
  stderr.on('data', (d: Buffer) => (err += d));
  const code = await run(['push', ...args], { stdout, stderr, env: { SOURCE_DATE_EPOCH: '1700000000' }, cwd: dir });
  return { code, stdout: out, stderr: err };
}

describe('kiln push', () => {
  test('refuses a target that is not a registry tag, in one line with a hint, before building', async () => {
    const calls = builds.calls;
    expect(await kiln('kiln.yml', '--to', 'oci:out/fw', '--key', 'update.key')).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'kiln: error: --to oci:out/fw: kiln pushes to a registry, not to oci:\n' +
        'kiln: write --to REGISTRY/REPOSITORY:TAG, e.g. --to REGISTRY/fleet/gateway:1.4.2 (http://127.0.0.1:PORT/… for a registry on this machine without TLS)\n',
    });
    expect((await kiln('kiln.yml', '--to', 'http://fleet-registry:5000/fleet/gw:1', '--key', 'update.key')).stderr).toBe(
      'kiln: error: --to http://fleet-registry:5000/fleet/gw:1: plain HTTP is only allowed to this machine\n' +
        'kiln: use HTTPS (drop "http://"), or a registry on 127.0.0.1 or localhost\n',
    );
    expect((await kiln('kiln.yml', '--to', `127.0.0.1:5000/fleet/gw@sha256:${'a'.repeat(64)}`, '--key', 'update.key')).stderr).toMatch(
      /^kiln: error: --to 127\.0\.0\.1:5000\/fleet\/gw@sha256:a+: a push names a tag, not a digest\n/,
    );
    expect((await kiln('kiln.yml', '--key', 'update.key')).stderr).toBe("error: required option '--to <ref>' not specified\n");
    expect(builds.calls).toBe(calls);
  });

  test('refuses a missing key and an unreachable registry before building', async () => {
    const calls = builds.calls;
    const to = `http://${registry!.host}/fleet/gw:1`;
    expect((await kiln('kiln.yml', '--to', to, '--key', 'nope.key')).stderr).toBe(
      `kiln: error: --key ${path.join(dir, 'nope.key')}: cannot read (ENOENT)\nkiln: Make a pair with \`kiln keys --out keys\` and pass --key keys/update.key.\n`,
    );
    const closed = `127.0.0.1:${await freePort()}`;
    const gone = await kiln('kiln.yml', '--to', `http://${closed}/fleet/gw:1`, '--key', 'update.key', '--quiet');
    expect(gone).toEqual({
      code: 1,
      stdout: '',
      stderr: `kiln: error: registry http://${closed} is unreachable (ECONNREFUSED)\nkiln: is the registry running?\n`,
    });
    expect(builds.calls).toBe(calls);
  });

  test('builds, signs and pushes every architecture, printing the digests; the scratch build is gone after', async () => {
    const pushed = await kiln('kiln.yml', '--to', `http://${registry!.host}/fleet/gw:1.4.2`, '--key', 'update.key', '--quiet');
    expect(pushed.stderr).toBe('');
    expect(pushed.code).toBe(0);
    const line = new RegExp(
      `^pushed ${registry!.host}/fleet/gw:1\\.4\\.2@(sha256:[0-9a-f]{64}) \\(x86_64 sha256:[0-9a-f]{64}, aarch64 sha256:[0-9a-f]{64}\\)\\n$`,
    );
    expect(pushed.stdout).toMatch(line);
    expect(existsSync(builds.dir)).toBe(false);
    const index = await fetch(`http://${registry!.host}/v2/fleet/gw/manifests/1.4.2`, { headers: { accept: 'application/vnd.oci.image.index.v1+json' } });
    expect(index.headers.get('docker-content-digest')).toBe(line.exec(pushed.stdout)![1]);
    const body = (await index.json()) as { annotations: Record<string, string> };
    expect(body.annotations).toEqual({
      'org.opencontainers.image.created': '2023-11-14T22:13:20Z',
      'org.opencontainers.image.title': 'gw',
      'org.opencontainers.image.version': '1.4.2',
    });

    const json = await kiln('kiln.yml', '--to', `http://${registry!.host}/fleet/gw:1.4.2`, '--key', 'update.key', '--quiet', '--json');
    const result = JSON.parse(json.stdout) as { ref: string; digest: string; version: string; uploaded: string[]; present: string[]; manifests: unknown[] };
    // Ed25519 signs deterministically: the same builds give the same artifact, so nothing is uploaded again.
    expect(result).toMatchObject({ ref: `${registry!.host}/fleet/gw:1.4.2`, digest: line.exec(pushed.stdout)![1], version: '1.4.2', uploaded: [] });
    expect(result.present).toHaveLength(5);
  });

  test('a layout: source build is pushed as its slot: one gzipped tar of the UKI and its tree, format tar+gzip', async () => {
    const pushed = await kiln('source.yml', '--to', `http://${registry!.host}/fleet/gw-source:1`, '--key', 'update.key', '--quiet', '--json');
    expect(pushed.stderr).toBe('');
    const { manifests } = JSON.parse(pushed.stdout) as { manifests: { digest: string }[] };
    const manifest = (await (
      await fetch(`http://${registry!.host}/v2/fleet/gw-source/manifests/${manifests[0]!.digest}`, {
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
      })
    ).json()) as { layers: { mediaType: string; digest: string; annotations: Record<string, string> }[] };
    expect(manifest.layers.map((l) => [l.mediaType, l.annotations['org.opencontainers.image.title']])).toEqual([
      ['application/vnd.kiln.firmware.tree.v1.tar+gzip', 'gw-x86_64.tar.gz'],
      ['application/vnd.kiln.firmware.statement.v1+json', 'statement.json'],
    ]);
    // GNU tar, the independent judge, lists exactly the slot's files.
    const blob = Buffer.from(await (await fetch(`http://${registry!.host}/v2/fleet/gw-source/blobs/${manifest.layers[0]!.digest}`)).arrayBuffer());
    const listed = execFileSync('tar', ['--list', '--gzip'], { input: blob }).toString().trim().split('\n');
    expect(listed).toEqual(['linux_amd64/kiln-build', 'src/kiln/main.ts', 'EFI/kiln/KILNX64.EFI']);
    const statement = JSON.parse(
      Buffer.from(await (await fetch(`http://${registry!.host}/v2/fleet/gw-source/blobs/${manifest.layers[1]!.digest}`)).arrayBuffer()).toString(),
    ) as Record<string, unknown>;
    expect(statement).toMatchObject({ format: 'tar+gzip', buildId: 'fedcba9876543210', size: blob.length });
  });

  test('--help teaches, with examples', async () => {
    const help = await kiln('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('kiln push fleet.yml --to REGISTRY/fleet/gateway:1.4.2 --key keys/update.key');
    expect(help.stdout).toContain('the tag never names a half-pushed');
  });
});
