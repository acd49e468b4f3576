#!/usr/bin/env node
// Prints issue 4's figures, measured on this machine (TCG unless KVM works):
//   - boot to first container running: the uptime the container's own first line reports;
//   - memory after boot: the init's RSS at idle and the whole system's used memory (GET /v1/status);
//   - added EFI size from container support (crun and its libraries): the release EFI with and without a container.
// The image is a busybox-static root made with umoci (Debian packages umoci, busybox-static). Measures; asserts nothing.
//   npm run prepare && node bench/containers.mjs
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const kiln = path.join(root, 'bin', 'kiln.js');
const work = mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-containers-'));
const TOKEN = 'bench-token-0123456789';

function busyboxImage(layout) {
  const bundle = path.join(work, 'bundle');
  execFileSync('umoci', ['init', '--layout', layout]);
  execFileSync('umoci', ['new', '--image', `${layout}:busybox`]);
  execFileSync('umoci', ['unpack', '--image', `${layout}:busybox`, bundle]);
  mkdirSync(path.join(bundle, 'rootfs/bin'), { recursive: true });
  copyFileSync('/bin/busybox', path.join(bundle, 'rootfs/bin/busybox'));
  chmodSync(path.join(bundle, 'rootfs/bin/busybox'), 0o755);
  for (const applet of ['sh', 'echo', 'sleep']) symlinkSync('busybox', path.join(bundle, 'rootfs/bin', applet));
  execFileSync('umoci', ['repack', '--image', `${layout}:busybox`, bundle]);
}

const config = (withContainer) => `name: bench
arch: x86_64
kernel: { modules: [virtio_pci, virtio_blk, virtio_net] }
network: { interfaces: [{ name: eth0, dhcp: true }] }
apiPort: 8080
secondary: { path: /data/kiln/secondary.yml, default: { api: { token: ${TOKEN} } } }
storage:
  partitions:
    - { label: ESP, filesystem: vfat, size: 64M, esp: true }
    - { label: DATA, filesystem: ext4, size: rest, mount: /data }
${
  withContainer
    ? `containers:
  - name: first
    image: oci:images:busybox
    command: [/bin/sh, -c, 'read up rest < /proc/uptime; echo "bench: first container code at $up s uptime"; sleep 600']
`
    : ''
}`;

function run(args) {
  return execFileSync(process.execPath, [kiln, ...args], { cwd: work, encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
}

const port = await new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port: p } = s.address();
    s.close(() => resolve(p));
  });
});

try {
  busyboxImage(path.join(work, 'images'));
  copyFileSync(path.join(root, 'examples/kiln.lock'), path.join(work, 'kiln.lock'));
  writeFileSync(path.join(work, 'with.yml'), config(true));
  writeFileSync(path.join(work, 'without.yml'), config(false));
  for (const name of ['without', 'with']) run(['build', `${name}.yml`, '--out', `out-${name}`, '-q']);
  const sizes = Object.fromEntries(['without', 'with'].map((n) => [n, statSync(path.join(work, `out-${n}`, 'BOOTX64.EFI')).size]));
  console.log(
    `release EFI: ${(sizes.without / 1e6).toFixed(1)} MB without containers, ${(sizes.with / 1e6).toFixed(1)} MB with (crun and its libraries add ${((sizes.with - sizes.without) / 1e6).toFixed(2)} MB)`,
  );

  run(['disk', 'with.yml', '--out', 'disk.img', '--size', '256M', '--profile', 'fast', '-q']);
  const child = spawn(process.execPath, [kiln, 'run', 'disk.img', '--timeout', '400', '--forward', `${port}:8080`], { cwd: work });
  let out = '';
  let asked = false;
  child.stdout.on('data', (d) => {
    out += d;
    if (!asked && /bench: first container code at/.test(out) && /kiln: ready in/.test(out)) {
      asked = true;
      // Idle for 10 s, then ask the device.
      setTimeout(async () => {
        try {
          const status = await (await fetch(`http://127.0.0.1:${port}/v1/status`, { headers: { authorization: `Bearer ${TOKEN}` } })).json();
          const first = /bench: first container code at ([\d.]+) s uptime/.exec(out)[1];
          const ready = /kiln: ready in (\d+) ms/.exec(out)[1];
          console.log(`boot to first container running: ${Number(first).toFixed(1)} s uptime (init ready at ${(ready / 1000).toFixed(1)} s)`);
          console.log(
            `memory after boot (10 s idle): init RSS ${(status.memory.initRssBytes / 2 ** 20).toFixed(1)} MiB; system used ${(status.memory.systemUsedBytes / 2 ** 20).toFixed(1)} MiB of ${(status.memory.systemTotalBytes / 2 ** 20).toFixed(0)} MiB`,
          );
        } finally {
          child.kill('SIGTERM');
        }
      }, 10_000);
    }
  });
  await new Promise((resolve) => child.on('close', resolve));
  if (!asked) console.log(`the device did not start the container:\n${out.slice(-3000)}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
