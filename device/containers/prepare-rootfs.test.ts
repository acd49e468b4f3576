import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  linkSync,
  chmodSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobMismatchError, openImageStore, prepareRootfs, type ImageStore } from './image-store.ts';
import { ROOTFS_MARKER } from './prepare-rootfs.ts';

const work = mkdtempSync(path.join(os.tmpdir(), 'kiln-rootfs-'));
const layout = path.join(work, 'oci');
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The independent judge and the image's content must be on the machine: a missing one fails, loudly. */
function need(tool: string, pkg: string): void {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    throw new Error(`${tool} is missing: these tests need it as the second judge (apt-get install -y ${pkg})`);
  }
}

function run(cmd: string, args: string[], cwd = work): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

const LONG = `usr/share/${'n'.repeat(90)}/${'m'.repeat(90)}.txt`;

/** A busybox-static root, made into an OCI layout by umoci in four layers: the root, a whiteout, an opaque folder, a replacement. */
function buildImage(): void {
  need('umoci', 'umoci');
  need('busybox', 'busybox-static');
  const root = path.join(work, 'src-root');
  for (const d of ['bin', 'etc', 'opt/old', 'tmp', 'usr/share', 'var/empty']) mkdirSync(path.join(root, d), { recursive: true });
  const busybox = run('sh', ['-c', 'command -v busybox']).trim();
  copyFileSync(busybox, path.join(root, 'bin/busybox'));
  chmodSync(path.join(root, 'bin/busybox'), 0o755);
  for (const applet of run(path.join(root, 'bin/busybox'), ['--list'])
    .split('\n')
    .filter((a) => a !== '' && a !== 'busybox')) {
    symlinkSync('busybox', path.join(root, 'bin', applet));
  }
  linkSync(path.join(root, 'bin/busybox'), path.join(root, 'bin/bb-hardlink'));
  writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nweb:x:1000:1000::/srv:/bin/sh\n');
  writeFileSync(path.join(root, 'etc/motd'), 'welcome\n');
  writeFileSync(path.join(root, 'opt/old/file'), 'old\n');
  writeFileSync(path.join(root, 'opt/lower'), 'lower\n');
  writeFileSync(path.join(root, LONG.replace(/\/[^/]*$/, '') + '.keep'), '');
  mkdirSync(path.join(root, path.dirname(LONG)), { recursive: true });
  writeFileSync(path.join(root, LONG), 'long name\n');
  symlinkSync('/etc/passwd', path.join(root, 'etc/abs-link'));
  chmodSync(path.join(root, 'tmp'), 0o1777);
  chmodSync(path.join(root, 'var/empty'), 0o700);
  const newOpt = path.join(work, 'new-opt');
  mkdirSync(newOpt);
  writeFileSync(path.join(newOpt, 'fresh'), 'fresh\n');
  writeFileSync(path.join(work, 'true-file'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });

  run('umoci', ['init', '--layout', layout]);
  run('umoci', ['new', '--image', `${layout}:bb`]);
  run('umoci', ['insert', '--image', `${layout}:bb`, root, '/']);
  run('umoci', ['insert', '--image', `${layout}:bb`, '--whiteout', '/etc/motd']);
  run('umoci', ['insert', '--image', `${layout}:bb`, '--opaque', newOpt, '/opt']);
  run('umoci', ['insert', '--image', `${layout}:bb`, path.join(work, 'true-file'), '/bin/true']);
  run('umoci', [
    'config',
    '--image',
    `${layout}:bb`,
    '--config.entrypoint',
    '/bin/sh',
    '--config.cmd',
    '-c',
    '--config.cmd',
    'echo hi',
    '--config.env',
    'GREETING=hello',
    '--config.workingdir',
    '/srv',
    '--config.user',
    'web',
  ]);
  run('umoci', ['unpack', '--rootless', '--image', `${layout}:bb`, path.join(work, 'umoci-bundle')]);
}

/** "path kind mode detail" for every entry, sorted; file contents by hash. */
function tree(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(path.join(root, rel)).sort()) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const full = path.join(root, r);
      const st = lstatSync(full);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        out.push(`${r}/ ${mode}`);
        walk(r);
      } else if (st.isSymbolicLink()) out.push(`${r} -> ${readlinkSync(full)}`);
      else out.push(`${r} ${mode} ${createHash('sha256').update(readFileSync(full)).digest('hex').slice(0, 16)}`);
    }
  };
  walk('');
  return out;
}

let store: ImageStore;
const roots = path.join(work, 'roots');

beforeAll(async () => {
  buildImage();
  store = await openImageStore(layout);
}, 60_000);

describe('prepareRootfs on an OCI layout made by umoci', () => {
  it('unpacks the same tree as `umoci unpack --rootless`', async () => {
    const prepared = await prepareRootfs(store, 'bb', roots, { fsync: false });
    const digest = (await store.findManifest('bb')).digest;
    expect(prepared.rootfs).toBe(path.join(roots, digest.slice('sha256:'.length), 'rootfs'));
    expect(prepared.reused).toBe(false);
    const ours = tree(prepared.rootfs);
    expect(ours).toEqual(tree(path.join(work, 'umoci-bundle/rootfs')));
    // The judge agrees on what matters; check that it is what we think it is.
    expect(ours).toContain(
      'bin/true 755 ' +
        createHash('sha256')
          .update(readFileSync(path.join(work, 'true-file')))
          .digest('hex')
          .slice(0, 16),
    );
    expect(ours).toContain('tmp/ 1777');
    expect(ours).toContain('etc/abs-link -> /etc/passwd');
    expect(ours.filter((l) => l.startsWith('opt/'))).toEqual([
      'opt/ 755',
      'opt/fresh 644 ' + createHash('sha256').update('fresh\n').digest('hex').slice(0, 16),
    ]);
    expect(ours.some((l) => l.startsWith('etc/motd'))).toBe(false);
    expect(ours.some((l) => l.startsWith(LONG))).toBe(true);
    expect(lstatSync(path.join(prepared.rootfs, 'bin/bb-hardlink')).ino).toBe(lstatSync(path.join(prepared.rootfs, 'bin/busybox')).ino);
    expect(prepared.image).toMatchObject({
      entrypoint: ['/bin/sh'],
      cmd: ['-c', 'echo hi'],
      workingDir: '/srv',
      user: 'web',
      architecture: 'amd64',
      os: 'linux',
    });
    expect(prepared.image.env).toContain('GREETING=hello');
    // The unpacked busybox runs.
    expect(run(path.join(prepared.rootfs, 'bin/busybox'), ['echo', 'ok']).trim()).toBe('ok');
  });

  it('reuses a finished rootfs, by name or digest, without reading the layers', async () => {
    const digest = (await store.findManifest('bb')).digest;
    const started = performance.now();
    const again = await prepareRootfs(store, digest, roots);
    expect(again.reused).toBe(true);
    expect(performance.now() - started).toBeLessThan(200);
    expect(again.image.entrypoint).toEqual(['/bin/sh']);
  });

  it('redoes an interrupted unpacking and removes what it left', async () => {
    const digest = (await store.findManifest('bb')).digest;
    const hex = digest.slice('sha256:'.length);
    const fresh = path.join(work, 'roots-cut');
    // A power cut: a half-written partial folder, and a renamed one whose marker never made it.
    mkdirSync(path.join(fresh, `${hex}.partial-99-x`, 'rootfs/bin'), { recursive: true });
    mkdirSync(path.join(fresh, hex, 'rootfs/junk'), { recursive: true });
    const prepared = await prepareRootfs(store, 'bb', fresh, { fsync: false });
    expect(prepared.reused).toBe(false);
    expect(readdirSync(fresh)).toEqual([hex]);
    expect(existsSync(path.join(prepared.rootfs, 'junk'))).toBe(false);
    expect(existsSync(path.join(fresh, hex, ROOTFS_MARKER))).toBe(true);
  });
});

describe('a corrupt store', () => {
  /** A copy of the layout with one byte of the blob `pick` chooses flipped (or the blob cut short). */
  async function corrupt(
    name: string,
    pick: (s: ImageStore) => Promise<string>,
    how: 'flip' | 'truncate' = 'flip',
  ): Promise<{ store: ImageStore; digest: string }> {
    const copy = path.join(work, name);
    cpSync(layout, copy, { recursive: true });
    const copied = await openImageStore(copy);
    const digest = await pick(copied);
    const file = copied.blobPath(digest);
    const bytes = readFileSync(file);
    rmSync(file);
    if (how === 'flip') bytes[Math.floor(bytes.length / 2)]! ^= 0x40;
    writeFileSync(file, how === 'flip' ? bytes : bytes.subarray(0, bytes.length - 100));
    return { store: copied, digest };
  }
  const firstLayer = async (s: ImageStore): Promise<string> => (await s.readManifest(await s.findManifest('bb'))).layers[0]!.digest;

  it.each(['flip', 'truncate'] as const)('a layer blob (%s): names both digests and leaves no rootfs', async (how) => {
    const { store: bad, digest } = await corrupt(`oci-bad-${how}`, firstLayer, how);
    const dir = path.join(work, `roots-bad-${how}`);
    const error = await prepareRootfs(bad, 'bb', dir, { fsync: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BlobMismatchError);
    const message = (error as Error).message;
    if (how === 'flip') expect(message).toMatch(new RegExp(`^Blob ${digest} is corrupt: digest expected ${digest}, found sha256:[0-9a-f]{64}$`));
    else expect(message).toMatch(new RegExp(`^Blob ${digest} is corrupt: size expected \\d+ bytes, found \\d+ bytes$`));
    expect(readdirSync(dir)).toEqual([]);
  });

  it('the manifest blob', async () => {
    const { store: bad, digest } = await corrupt('oci-bad-manifest', async (s) => (await s.findManifest('bb')).digest);
    const error = await prepareRootfs(bad, 'bb', path.join(work, 'roots-bad-manifest')).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(new RegExp(`^Blob ${digest} is corrupt: digest expected ${digest}, found sha256:`));
  });

  it('an unknown image names what the store has', async () => {
    await expect(store.findManifest('nope')).rejects.toThrow(`${layout}: no image "nope"; the store has "bb"`);
  });
});
