#!/usr/bin/env node
// Makes the two images examples/realtime.yml runs, offline from then on, as OCI image layouts beside this script:
//   images/ :web        busybox's httpd serving a page (an ordinary service)
//   images/ :cyclictest cyclictest from Debian's rt-tests, with exactly the libraries it needs
// From Debian packages fetched with `apt-get download` (this host's sources, no mirror named here), laid out as one
// layer each, written byte for byte the same on every run (sorted names, times 0, no owner names, gzip -n), so the
// digests kiln.lock pins stay valid until Debian ships new versions of these packages.
//   node examples/realtime/make-images.mjs
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const here = import.meta.dirname;
const layout = path.join(here, 'images');
const work = mkdtempSync(path.join(os.tmpdir(), 'kiln-rt-images-'));
const sha = (b) => createHash('sha256').update(b).digest('hex');

function debs(names) {
  const dir = path.join(work, 'debs');
  mkdirSync(dir, { recursive: true });
  execFileSync('apt-get', ['download', ...names], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  const tree = path.join(work, 'tree');
  for (const f of readdirSync(dir)) execFileSync('dpkg-deb', ['-x', path.join(dir, f), tree]);
  return tree;
}

/** One image from a root folder: a deterministic tar+gzip layer, its config and manifest, as blobs. */
function image(name, root, config) {
  const tar = execFileSync('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '--format=posix', '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime', '-C', root, '-cf', '-', '.'], { maxBuffer: 1 << 30 });
  const layer = execFileSync('gzip', ['-n', '-9'], { input: tar, maxBuffer: 1 << 30 });
  const configBlob = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config, rootfs: { type: 'layers', diff_ids: [`sha256:${sha(tar)}`] } }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha(configBlob)}`, size: configBlob.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${sha(layer)}`, size: layer.length }],
  }));
  for (const blob of [layer, configBlob, manifest]) writeFileSync(path.join(layout, 'blobs/sha256', sha(blob)), blob);
  return { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${sha(manifest)}`, size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': name } };
}

try {
  rmSync(layout, { recursive: true, force: true });
  mkdirSync(path.join(layout, 'blobs/sha256'), { recursive: true });
  const tree = debs(['busybox-static', 'rt-tests', 'libnuma1', 'libc6']);

  const web = path.join(work, 'web');
  mkdirSync(path.join(web, 'bin'), { recursive: true });
  mkdirSync(path.join(web, 'www'), { recursive: true });
  cpSync(path.join(tree, 'bin/busybox'), path.join(web, 'bin/busybox'));
  for (const applet of ['sh', 'httpd', 'cat', 'date']) symlinkSync('busybox', path.join(web, 'bin', applet));
  writeFileSync(path.join(web, 'www/index.html'), '<h1>kiln edge device</h1>\n');

  const rt = path.join(work, 'rt');
  const lib = 'lib/x86_64-linux-gnu';
  mkdirSync(path.join(rt, lib), { recursive: true });
  mkdirSync(path.join(rt, 'lib64'), { recursive: true });
  mkdirSync(path.join(rt, 'usr/bin'), { recursive: true });
  mkdirSync(path.join(rt, 'bin'), { recursive: true });
  cpSync(path.join(tree, 'usr/bin/cyclictest'), path.join(rt, 'usr/bin/cyclictest'));
  cpSync(path.join(tree, 'bin/busybox'), path.join(rt, 'bin/busybox'));
  symlinkSync('busybox', path.join(rt, 'bin/sh'));
  // cyclictest's NEEDED: libc.so.6, librt.so.1, libpthread.so.0 (glibc), libnuma.so.1; and the loader.
  for (const so of ['libc.so.6', 'librt.so.1', 'libpthread.so.0', 'libm.so.6', 'ld-linux-x86-64.so.2']) cpSync(path.join(tree, lib, so), path.join(rt, lib, so), { dereference: true });
  cpSync(path.join(tree, 'usr', lib, 'libnuma.so.1'), path.join(rt, lib, 'libnuma.so.1'), { dereference: true });
  symlinkSync(`/${lib}/ld-linux-x86-64.so.2`, path.join(rt, 'lib64/ld-linux-x86-64.so.2'));
  for (const dir of [web, rt]) execFileSync('chmod', ['-R', 'u+w,go-w', dir]);
  chmodSync(path.join(rt, 'usr/bin/cyclictest'), 0o755);

  const manifests = [
    image('web', web, { Cmd: ['/bin/httpd', '-f', '-p', '8081', '-h', '/www'], WorkingDir: '/' }),
    image('cyclictest', rt, { Entrypoint: ['/usr/bin/cyclictest'], Cmd: ['--mlockall', '--priority=80', '--interval=1000', '--quiet'] }),
  ];
  writeFileSync(path.join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(path.join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));
  for (const m of manifests) console.log(`${m.annotations['org.opencontainers.image.ref.name']}: ${m.digest}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
