/**
 * End to end: an image missing from the device's store is pulled at run time. A real registry (Debian's
 * docker-registry on this host's loopback) serves two images pushed with skopeo. The disk is made (kiln disk) from
 * a config without containers, so its data partition holds no store; the config with the containers is then built
 * and booted on that same disk (`kiln run --keep-disk`, which puts only the new EFI on the ESP) — new firmware on
 * an old disk. The guest reaches the host's loopback as 10.0.2.2, which the secondary config's `registries` maps
 * (the second image's registry address is a proxy, mapped to a closed port):
 *   unreachable  its registry is mapped to a closed port: the pull fails and is retried with backoff, although
 *                its restart policy is never (that is about runs of its own code);
 *   pulled       pulled (manifest by its pinned digest, blobs verified), started, its output on the console —
 *                while the other keeps failing.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freePort, startProxy, startRegistry, type Proxy, type Registry } from '../../src/container-images/_testing.js';
import { makeBusyboxImage, tool } from '../helpers/busybox-image.js';
import { kilnRun, makeTestDisk } from '../helpers/cli.js';

let work: string;
let registry: Registry;
/** A second address of the same registry (a proxy), so the two images' registries can be mapped apart. */
let proxy: Proxy;
let boot: { code: number | null; out: string; err: string };

const STORAGE = `storage:
  partitions:
    - { label: ESP, filesystem: vfat, size: 64M, esp: true }
    - { label: DATA, filesystem: ext4, size: rest, mount: /data }
`;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'kiln-pull-e2e-'));
  registry = await startRegistry(path.join(work, 'registry'));
  const layout = path.join(work, 'images');
  await makeBusyboxImage(layout, work, 'hello from the registry', 'one');
  await makeBusyboxImage(layout, work, 'never seen', 'two');
  tool('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${layout}:one`, `docker://${registry.host}/kiln/busybox:1`]);
  tool('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${layout}:two`, `docker://${registry.host}/kiln/busybox:2`]);
  proxy = await startProxy(registry.host);
  const closed = await freePort();
  const base = `name: pull-e2e
arch: x86_64
kernel:
  modules: [virtio_pci, virtio_blk, virtio_net]
network:
  interfaces: [{ name: eth0, dhcp: true }]
${STORAGE}`;
  await writeFile(path.join(work, 'old.yml'), base);
  await writeFile(
    path.join(work, 'new.yml'),
    `${base}secondary:
  path: /data/kiln/secondary.yml
  default:
    registries:
      "${registry.host}": { mirror: "http://10.0.2.2:${registry.port}" }
      "${proxy.host}": { mirror: "http://10.0.2.2:${closed}" }
containers:
  - name: unreachable
    image: http://${proxy.host}/kiln/busybox:2
    command: [/bin/sh, -c, 'echo "$GREETING"']
    # never is about runs of its own code: a pull that failed is still tried again.
    restart: never
    backoff: { initialMs: 1000, maxMs: 4000, resetAfterMs: 60000 }
  - name: pulled
    image: http://${registry.host}/kiln/busybox:1
    command: [/bin/sh, -c, 'echo "pulled: $GREETING"']
    restart: never
`,
  );
  const disk = path.join(work, 'disk.img');
  await makeTestDisk(path.join(work, 'old.yml'), disk);
  let stopping = false;
  boot = await kilnRun([path.join(work, 'new.yml'), '--keep-disk', disk, '--out', path.join(work, 'out'), '--timeout', '400'], (text, child) => {
    if (!stopping && /\[pulled\] pulled: hello from the registry/.test(text) && /container unreachable: could not start .*retry 2 in/.test(text)) {
      stopping = true;
      child.kill('SIGTERM');
    }
  });
  await writeFile(path.join(os.tmpdir(), 'kiln-pull-e2e-console.txt'), boot.out + boot.err);
}, 900_000);
afterAll(async () => {
  await proxy?.stop();
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

describe('an image missing from the store is pulled on the device', () => {
  test('the kept disk has no store: the new firmware pulls the pinned image through the mapped registry and runs it', () => {
    expect(boot.out).toMatch(
      new RegExp(`kiln: container pulled: http://${registry.host}/kiln/busybox:1 \\(sha256:[0-9a-f]{12}\\) is not in the store: pulling it`),
    );
    expect(boot.out).toMatch(new RegExp(`kiln: container pulled: pulled from http://10\\.0\\.2\\.2:${registry.port}: 2 blob\\(s\\), [\\d.]+ MB in [\\d.]+ s`));
    expect(boot.out).toMatch(/\[pulled\] pulled: hello from the registry/);
  });

  test('a pull that fails is retried with growing delays (even with restart: never), and holds up no other container', () => {
    const failures = [
      ...boot.out.matchAll(
        /^kiln: container unreachable: could not start \(image "[^"]+": registry http:\/\/10\.0\.2\.2:\d+ is unreachable \(ECONNREFUSED\)\) after [\d.]+ m?s; retry \d+ in ([\d.]+ m?s)/gm,
      ),
    ];
    expect(failures.map((m) => m[1]).slice(0, 2)).toEqual(['1 s', '2 s']);
    // It comes first in the config and never gets its image, yet the other one was pulled and ran meanwhile.
    expect(boot.out).not.toMatch(/\[unreachable\]/);
    expect(boot.out).toMatch(/\[pulled\] pulled: hello from the registry/);
  });

  test('the device powers off cleanly', () => {
    expect(boot.out).toMatch(/reboot: Power down/);
    expect(boot.code).toBe(0);
  });
});
