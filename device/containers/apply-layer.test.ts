import { execFileSync, spawnSync } from 'node:child_process';
import {
  createReadStream,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyLayer, LayerEntryError, unpackLayer, type ApplyLayerOptions, type MakeNode } from './apply-layer.ts';
import { hasZstd } from './decompress.ts';
import { LayerPathError } from './root-path.ts';
import { deviceNode } from '../../test/helpers/device-node.ts';

const work = mkdtempSync(path.join(os.tmpdir(), 'kiln-layer-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let counter = 0;

type Spec = Record<string, string | { dir: true; mode?: number } | { symlink: string } | { hardlink: string } | { mode: number; text: string }>;

/**
 * A layer archived by GNU tar, entries in the order given. `spec` keys are paths; values: file text, a folder,
 * a symlink, a hard link to an earlier path, or a file with a mode.
 */
function layer(spec: Spec, options: { format?: 'gnu' | 'posix'; compress?: 'gzip' | 'zstd'; tarArgs?: string[] } = {}): string {
  const n = counter++;
  const dir = path.join(work, `layer-${n}`);
  mkdirSync(dir);
  for (const [rel, value] of Object.entries(spec)) {
    const full = path.join(dir, rel);
    mkdirSync(path.dirname(full), { recursive: true });
    if (typeof value === 'string') writeFileSync(full, value);
    else if ('dir' in value) mkdirSync(full, { recursive: true, mode: value.mode ?? 0o755 });
    else if ('symlink' in value) symlinkSync(value.symlink, full);
    else if ('hardlink' in value) linkSync(path.join(dir, value.hardlink), full);
    else writeFileSync(full, value.text, { mode: value.mode });
  }
  for (const [rel, value] of Object.entries(spec)) {
    if (typeof value === 'object' && 'mode' in value) execFileSync('chmod', [(value.mode ?? 0o755).toString(8), path.join(dir, rel)]);
  }
  const list = path.join(work, `list-${n}`);
  writeFileSync(list, `${Object.keys(spec).join('\n')}\n`);
  const tar = path.join(work, `layer-${n}.tar`);
  execFileSync('tar', [`--format=${options.format ?? 'gnu'}`, '--no-recursion', ...(options.tarArgs ?? []), '-cf', tar, '-C', dir, '-T', list]);
  if (options.compress === undefined) return tar;
  const tool = options.compress === 'gzip' ? 'gzip' : 'zstd';
  execFileSync(tool, ['-q', '-k', '-f', tar]);
  return `${tar}.${options.compress === 'gzip' ? 'gz' : 'zst'}`;
}

function newRoot(): string {
  const root = path.join(work, `root-${counter++}`);
  mkdirSync(root);
  return root;
}

async function apply(root: string, file: string, options: ApplyLayerOptions = {}): Promise<Awaited<ReturnType<typeof unpackLayer>>> {
  return unpackLayer(root, createReadStream(file), options);
}

/** The tree as lines: "path mode kind detail", sorted. */
function snapshot(root: string): string[] {
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
      else if (st.isFile()) out.push(`${r} ${mode} ${JSON.stringify(readFileSync(full, 'utf8'))}${st.nlink > 1 ? ` nlink=${st.nlink}` : ''}`);
      else out.push(`${r} ${mode} ${st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'char' : 'other'}`);
    }
  };
  walk('');
  return out;
}

describe('applyLayer', () => {
  it('stacks layers: whiteouts delete lower entries, an opaque folder keeps only its own layer', async () => {
    const root = newRoot();
    await apply(
      root,
      layer({
        etc: { dir: true },
        'etc/keep': 'keep',
        'etc/old': 'old',
        'etc/olddir': { dir: true },
        'etc/olddir/x': 'x',
        opq: { dir: true },
        'opq/lower': 'lower',
        'opq/sub': { dir: true },
        'opq/sub/deep': 'deep',
        bin: { dir: true },
        'bin/tool': { mode: 0o4755, text: 'tool' },
        'bin/alias': { hardlink: 'bin/tool' },
        'bin/sh': { symlink: 'tool' },
        'becomes-dir': 'file',
      }),
    );
    await apply(
      root,
      layer({
        'etc/.wh.old': '',
        'etc/.wh.olddir': '',
        opq: { dir: true },
        'opq/.wh..wh..opq': '',
        'opq/new': 'new',
        'becomes-dir': { dir: true, mode: 0o700 },
        'becomes-dir/inside': 'inside',
        'bin/sh': 'now a file',
      }),
    );
    expect(snapshot(root)).toEqual([
      'becomes-dir/ 700',
      'becomes-dir/inside 644 "inside"',
      'bin/ 755',
      'bin/alias 4755 "tool" nlink=2',
      'bin/sh 644 "now a file"',
      'bin/tool 4755 "tool" nlink=2',
      'etc/ 755',
      'etc/keep 644 "keep"',
      'opq/ 755',
      'opq/new 644 "new"',
    ]);
  });

  it('keeps entries of the same layer whatever the place of the opaque marker or a whiteout', async () => {
    const root = newRoot();
    await apply(root, layer({ opq: { dir: true }, 'opq/lower': 'lower', 'opq/d': { dir: true }, 'opq/d/lower': 'lower', gone: 'lower' }));
    // Marker and whiteout after entries of their own layer: only the lower layer's entries go.
    await apply(root, layer({ 'opq/mine': 'mine', 'opq/d/mine': 'mine', gone: 'mine', 'opq/.wh..wh..opq': '', '.wh.gone': '' }));
    expect(snapshot(root)).toEqual(['gone 644 "mine"', 'opq/ 755', 'opq/d/ 755', 'opq/d/mine 644 "mine"', 'opq/mine 644 "mine"']);
  });

  it('reads long names (GNU and pax), sets modes, mtimes and owners', async () => {
    const long = `${'a'.repeat(70)}/${'b'.repeat(70)}/${'c'.repeat(70)}`;
    for (const format of ['gnu', 'posix'] as const) {
      const root = newRoot();
      await apply(
        root,
        layer(
          { [long]: 'deep', link: { symlink: long }, ro: { dir: true, mode: 0o555 }, 'ro/f': { mode: 0o400, text: 'f' } },
          { format, tarArgs: ['--mtime=@1500000000', '--owner=1234', '--group=5678', '--numeric-owner'] },
        ),
        { sameOwner: true },
      );
      expect(readFileSync(path.join(root, long), 'utf8')).toBe('deep');
      expect(readlinkSync(path.join(root, 'link'))).toBe(long);
      const ro = statSync(path.join(root, 'ro'));
      expect([ro.mode & 0o7777, ro.mtimeMs, ro.uid, ro.gid]).toEqual([0o555, 1_500_000_000_000, 1234, 5678]);
      expect(lstatSync(path.join(root, 'link')).uid).toBe(1234);
      expect(statSync(path.join(root, 'ro/f')).mode & 0o7777).toBe(0o400);
    }
  });

  it('does not chown without sameOwner', async () => {
    const root = newRoot();
    await apply(root, layer({ f: 'x' }, { tarArgs: ['--owner=1234', '--numeric-owner'] }), { sameOwner: false });
    expect(statSync(path.join(root, 'f')).uid).toBe(process.getuid!());
  });

  it('makes fifos and devices with makeNode, and reports them without it', async () => {
    const src = path.join(work, 'nodes');
    mkdirSync(src);
    execFileSync('mkfifo', [path.join(src, 'fifo')]);
    const tar = path.join(work, 'nodes.tar');
    // A device entry without needing to make one: GNU tar archives /dev/null as is.
    execFileSync('tar', ['--format=gnu', '-cf', tar, '-C', src, 'fifo', '-C', '/', 'dev/null']);
    const skipped = await apply(newRoot(), tar);
    expect(skipped.skipped).toEqual([
      { path: 'fifo', reason: 'fifo node: no mknod' },
      { path: 'dev/null', reason: 'char node: no mknod' },
    ]);
    const made: string[] = [];
    const mknod: MakeNode = async (hostPath, kind, mode, major, minor) => {
      made.push(`${path.basename(hostPath)} ${kind} ${mode.toString(8)} ${major}:${minor}`);
      const r = spawnSync(
        'mknod',
        ['-m', mode.toString(8), hostPath, ...(kind === 'fifo' ? ['p'] : [kind === 'char' ? 'c' : 'b', String(major), String(minor)])],
        { encoding: 'utf8' },
      );
      if (r.status !== 0) throw Object.assign(new Error(r.stderr), { code: /not permitted/.test(r.stderr) ? 'EPERM' : 'EIO' });
    };
    const root = newRoot();
    const report = await apply(root, tar, { makeNode: mknod });
    expect(made).toEqual(['fifo fifo 644 0:0', 'null char 666 1:3']);
    expect(lstatSync(path.join(root, 'fifo')).isFIFO()).toBe(true);
    // As root the device is made; elsewhere mknod says EPERM and the entry is recorded, not fatal.
    if (report.skipped.length === 0) expect(lstatSync(path.join(root, 'dev/null')).isCharacterDevice()).toBe(true);
    else expect(report.skipped).toEqual([{ path: 'dev/null', reason: 'char node 1:3: EPERM' }]);
  });

  it('sets file capabilities (pax SCHILY.xattr, binary) through setXattr, and reports them without', async () => {
    const src = path.join(work, 'caps');
    mkdirSync(src);
    writeFileSync(path.join(src, 'ping'), 'ping', { mode: 0o755 });
    const setcap = spawnSync('setcap', ['cap_net_raw+ep', path.join(src, 'ping')], { encoding: 'utf8' });
    if (setcap.error !== undefined || setcap.status !== 0)
      throw new Error(`setcap (apt-get install -y libcap2-bin) failed: ${setcap.error?.message ?? setcap.stderr}`);
    const tar = path.join(work, 'caps.tar');
    execFileSync('tar', ['--format=posix', '--xattrs', '--xattrs-include=*', '-cf', tar, '-C', src, 'ping']);
    const set: { name: string; value: Buffer }[] = [];
    const report = await apply(newRoot(), tar, { setXattr: async (_p, name, value) => void set.push({ name, value: Buffer.from(value) }) });
    expect(report.skipped).toEqual([]);
    expect(set.map((x) => x.name)).toEqual(['security.capability']);
    // struct vfs_cap_data (linux/capability.h): magic_etc (4) @0 = revision 2 | effective; permitted (4) @4 has CAP_NET_RAW (13).
    const value = set[0]!.value;
    expect(value.readUInt32LE(0)).toBe(0x02000001);
    expect(value.readUInt32LE(4)).toBe(1 << 13);
    expect((await apply(newRoot(), tar)).skipped).toEqual([{ path: 'ping', reason: 'xattrs not set (no setxattr): security.capability' }]);
  });

  it('reads gzip and zstd layers by their magic bytes', async () => {
    const spec: Spec = { d: { dir: true }, 'd/f': 'compressed', 'd/l': { symlink: 'f' } };
    const root = newRoot();
    await apply(root, layer(spec, { compress: 'gzip' }));
    expect(snapshot(root)).toEqual(['d/ 755', 'd/f 644 "compressed"', 'd/l -> f']);
    const zst = layer(spec, { compress: 'zstd' });
    expect(readFileSync(zst).subarray(0, 4)).toEqual(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]));
    const zroot = newRoot();
    if (hasZstd()) await apply(zroot, zst);
    else unpackWithDeviceNode(zroot, zst);
    expect(snapshot(zroot)).toEqual(['d/ 755', 'd/f 644 "compressed"', 'd/l -> f']);
    // On a fresh machine deviceNode() builds examples/minimal.yml first.
  }, 600_000);
});

describe('applyLayer keeps every write inside the root', () => {
  const outside = path.join(work, 'outside');

  it('refuses ".." in an entry name', async () => {
    const file = layer({ evil: 'x' }, { tarArgs: ['-P', '--transform', 's,^,../../,'] });
    const root = newRoot();
    const error = await apply(root, file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LayerPathError);
    expect((error as Error).message).toBe('Refusing layer path "../../evil": contains ".."');
  });

  it('makes absolute names relative', async () => {
    const root = newRoot();
    await apply(root, layer({ 'etc-x': 'x' }, { format: 'posix', tarArgs: ['-P', '--transform', `s,^,${outside}/,`] }));
    expect(existsSync(outside)).toBe(false);
    expect(readFileSync(path.join(root, outside, 'etc-x'), 'utf8')).toBe('x');
  });

  it('follows a symlinked parent only inside the root', async () => {
    const root = newRoot();
    const escape = path.relative(root, outside); // ../outside, relative to the root
    await apply(root, layer({ up: { symlink: `../../../../..${outside}` }, 'sub/abs': { symlink: outside }, rel: { symlink: escape } }));
    // A layer cannot hold "up" as a symlink and "up/a" as a file from a real folder, so build that one by hand:
    await applyLayer(
      root,
      entries([
        { path: 'up/a', text: 'a' },
        { path: 'sub/abs/b', text: 'b' },
        { path: 'rel/c', text: 'c' },
      ]),
    );
    expect(existsSync(outside)).toBe(false);
    expect(readFileSync(path.join(root, outside, 'a'), 'utf8')).toBe('a');
    expect(readFileSync(path.join(root, outside, 'b'), 'utf8')).toBe('b');
    expect(readFileSync(path.join(root, 'outside', 'c'), 'utf8')).toBe('c');
  });

  it('refuses hard links out of the root and to missing targets', async () => {
    const root = newRoot();
    const up = layer({ a: 'a', b: { hardlink: 'a' } }, { tarArgs: ['-P', '--transform', 's,^a$,../../etc/passwd,hR'] });
    expect(((await apply(root, up).catch((e: unknown) => e)) as Error).message).toBe(
      'Refusing layer path "b": hard link target "../../etc/passwd" leaves the root',
    );
    const abs = layer({ a: 'a', b: { hardlink: 'a' } }, { tarArgs: ['-P', '--transform', 's,^a$,/etc/hostname,hR'] });
    const error = await apply(newRoot(), abs).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LayerPathError);
    expect((error as Error).message).toBe('Refusing layer path "b": hard link target "/etc/hostname" does not exist');
  });

  it('names the entry when the file system says no', async () => {
    const root = newRoot();
    writeFileSync(path.join(root, 'file'), '');
    const error = await applyLayer(root, entries([{ path: 'file/inside', text: 'x' }])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LayerEntryError);
    expect((error as Error).message).toMatch(/^Cannot apply layer entry "file\/inside" \(header at offset 0\): EEXIST/);
  });
});

/** Hand-made regular-file entries, for trees no real folder can hold. */
async function* entries(files: { path: string; text: string }[]): AsyncGenerator<import('../formats/tar/index.ts').TarEntry> {
  for (const f of files) {
    const data = Buffer.from(f.text);
    yield {
      path: f.path,
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      uname: '',
      gname: '',
      size: data.length,
      mtime: 0,
      linkPath: '',
      devMajor: 0,
      devMinor: 0,
      xattrs: {},
      offset: 0,
      body: (async function* () {
        yield data;
      })(),
    };
  }
}

/** This Node has no zstd (host Node 20): unpack with the device's Node 26 from kiln's cache, which has. */
function unpackWithDeviceNode(root: string, file: string): void {
  const node = deviceNode();
  const script = `import { createReadStream } from 'node:fs'; import { unpackLayer } from ${JSON.stringify(path.join(import.meta.dirname, 'apply-layer.ts'))};
await unpackLayer(process.argv[1], createReadStream(process.argv[2]));`;
  const r = spawnSync(node, ['--input-type=module', '-e', script, root, file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`device Node failed: ${r.stderr}`);
}
