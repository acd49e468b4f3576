/**
 * End to end: a device pulls its own firmware from a registry. Debian's docker-registry on this host's loopback holds
 * v2 of a config, pushed by `kiln push`; the device (v1 from `kiln disk`, on a kept disk under `kiln run --keep-disk
 * --reboot --no-bootindex`, as update.test.ts boots it) follows that tag from its secondary config (interval 30 s),
 * reaching the registry through `registries`, which maps it to 10.0.2.2 (the host as the guest sees it) — to a
 * small proxy in this test that cuts the first response of the EFI blob after a few megabytes, so the download must
 * go on with Range from where it broke off. Two boots:
 *   1. v1 from the ESP fallback: the first look finds v2, downloads it (cut, resumed), installs it in slot B and reboots
 *   2. v2's trial boot from slot B: the health gate commits it; the next look sees the same digest and fetches nothing
 */
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freePort, requireTools, startRegistry, type Registry } from '../../src/container-images/_testing.js';
import { kiln } from '../helpers/cli.js';
import { UpdateMachine } from '../helpers/update-machine.js';

const root = path.resolve(import.meta.dirname, '../..');
const TOKEN = 'update-pull-e2e-token';
/** Where the proxy cuts the first EFI response: a few megabytes into a firmware of tens. */
const CUT_AFTER = 4 << 20;
let work: string;
let registry: Registry;
let cutter: Cutter;
let apiPort: number;
let source: string;
let machine: UpdateMachine;

const config = (version: string) => `name: update-pull-e2e
version: ${version}
kernel:
  modules: [virtio_pci, virtio_blk, virtio_net]
storage:
  partitions:
    - { label: ESP, filesystem: vfat, size: 64M, esp: true }
    - { label: DATA, filesystem: ext4, size: rest, mount: /data }
update:
  publicKey: keys/update.pub
  healthSeconds: 5
apiPort: 18080
secondary:
  path: /data/kiln/secondary.yml
  default:
    api: { token: ${TOKEN} }
    registries:
      "${registry.host}": { mirror: "http://10.0.2.2:${cutter.port}" }
    update: { source: "${source}", interval: 30 }
network:
  interfaces: [{ name: eth0, dhcp: true }]
`;

interface Cutter {
  port: number;
  /** "GET /v2/… [range]" per request, in order. */
  requests: string[];
  stop(): Promise<void>;
}

/** A proxy to the registry that destroys the connection of the first big blob response after CUT_AFTER bytes. */
async function startCutter(target: Registry): Promise<Cutter> {
  const requests: string[] = [];
  let cut = false;
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}${req.headers.range ? ` ${req.headers.range}` : ''}`);
    const upstream = http.request(
      { host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        const big = Number(up.headers['content-length'] ?? 0) > 2 * CUT_AFTER && /\/blobs\//.test(req.url ?? '');
        if (cut || !big) return void up.pipe(res);
        cut = true;
        let sent = 0;
        up.on('data', (chunk: Buffer) => {
          if (sent >= CUT_AFTER) return;
          const part = chunk.subarray(0, CUT_AFTER - sent);
          sent += part.length;
          res.write(part, () => {
            if (sent < CUT_AFTER) return;
            up.destroy();
            res.destroy();
          });
        });
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    stop: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

async function waitFor(what: string, done: () => boolean, seconds = 400): Promise<void> {
  if (!(await machine.waitFor(done, seconds))) throw new Error(`no ${what} within ${seconds} s; console tail:\n${machine.out.slice(-4000)}`);
}

beforeAll(async () => {
  requireTools(['docker-registry']);
  work = await mkdtemp(path.join(os.tmpdir(), 'kiln-update-pull-e2e-'));
  registry = await startRegistry(path.join(work, 'registry'));
  cutter = await startCutter(registry);
  apiPort = await freePort();
  machine = new UpdateMachine({ disk: path.join(work, 'v1.img'), state: path.join(work, 'state.img'), port: apiPort, token: TOKEN });
  source = `${registry.host}/fleet/update-pull-e2e:stable`;
  await copyFile(path.join(root, 'examples/kiln.lock'), path.join(work, 'kiln.lock'));
  const keys = await kiln(['keys', '--out', path.join(work, 'keys')]);
  expect(keys.code, keys.stderr).toBe(0);
  await writeFile(path.join(work, 'v1.yml'), config('1.0.0'));
  await writeFile(path.join(work, 'v2.yml'), config('1.1.0'));
  const made = await kiln(['disk', path.join(work, 'v1.yml'), '--out', path.join(work, 'v1.img'), '--profile', 'fast', '-q']);
  expect(made.stderr).toBe('');
  expect(made.code).toBe(0);
  const pushed = await kiln([
    'push',
    path.join(work, 'v2.yml'),
    '--to',
    `http://${source}`,
    '--key',
    path.join(work, 'keys/update.key'),
    '--profile',
    'fast',
    '--json',
    '-q',
  ]);
  expect(pushed.code, pushed.stderr).toBe(0);
});
afterAll(async () => {
  if (machine?.running) await machine.powerCut();
  await cutter?.stop();
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

describe('a device pulls its firmware from a registry', () => {
  test('v1 finds v2 at its first look, downloads it through a cut (resumed with Range), installs it and reboots', async () => {
    machine.start();
    await waitFor('second ready line (the reboot into v2)', () => machine.readyLines() >= 2, 600);
    const out = machine.out;
    const q = source.replace(/[.]/g, '\\.');
    expect(out).toMatch(new RegExp(`kiln: update: pulling ${q} every 30 s \\(first look in \\d+ s\\)\n`));
    expect(out).toMatch(
      new RegExp(
        `kiln: update: pull from ${q}: 1\\.1\\.0 \\(build \\w+\\) is new \\(manifest sha256:[0-9a-f]{12}…\\): downloading [\\d.]+ MB from http://10\\.0\\.2\\.2:${cutter.port}\n`,
      ),
    );
    const broke = new RegExp(
      `kiln: update: pull from ${q}: the download broke off after (\\d+) of (\\d+) bytes \\(.+\\); resuming from there in 1 s \\(1 of 5\\)\n`,
    ).exec(out);
    expect(broke, out.slice(-4000)).not.toBeNull();
    const [offset, size] = [Number(broke![1]), Number(broke![2])];
    expect(offset).toBeGreaterThan(0);
    expect(offset).toBeLessThanOrEqual(CUT_AFTER);
    expect(cutter.requests.filter((r) => r.includes('/blobs/') && r.endsWith(`bytes=${offset}-`))).toHaveLength(1);
    expect(out).toMatch(/kiln: update: 1\.1\.0 \(build \w+\) installed in slot B; BootNext = Boot\d{4}\n/);
    expect(out).toMatch(new RegExp(`kiln: update: pull from ${q}: rebooting into 1\\.1\\.0 \\(build \\w+\\)\n`));
    expect(out).not.toMatch(/not installed/);
    expect(size).toBeGreaterThan(2 * CUT_AFTER);
  }, 900_000);

  test('v2 is tried from slot B and committed; its next look sees the same digest and fetches nothing', async () => {
    await waitFor('the commit', () => /kiln: update: 1\.1\.0 \(build \w+\) committed: slot B is first in BootOrder/.test(machine.out), 300);
    expect(machine.out).toMatch(/kiln: update: booted slot B \(Boot\d{4}\), committed A, trial boot/);
    const s = await machine.status();
    expect(s).toMatchObject({ running: { version: '1.1.0', slot: 'B' }, last: { outcome: 'committed', version: '1.1.0' } });
    expect(s.pending).toBeUndefined();

    const before = cutter.requests.length;
    const looks = () => cutter.requests.slice(before).filter((r) => r.endsWith('/manifests/stable'));
    await waitFor('a look at the tag after the commit', () => looks().length >= 1, 120);
    await new Promise((r) => setTimeout(r, 3000));
    expect(cutter.requests.slice(before).filter((r) => r.includes('/blobs/') || r.includes('/manifests/sha256:'))).toEqual([]);
    expect(await machine.stop()).toMatch(/reboot: Power down/);
  }, 600_000);
});
