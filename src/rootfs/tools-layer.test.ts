/**
 * The tools layer, made from this Debian host's own e2fsck and libraries laid out as unpacked packages (the
 * build uses the pinned ones the same way); readelf judges what was shipped.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { CpioEntry } from '../formats/cpio/index.js';
import { toolsLayer, type ToolSource, type ToolsSources } from './tools-layer.js';

const TRIPLET = 'x86_64-linux-gnu';
const E2FSCK = '/usr/sbin/e2fsck';
/** Where this host keeps each library e2fsck needs, and the Debian package that holds it. */
const HOST_LIBS: Record<string, { soname: string; dir: string }[]> = {
  libext2fs2: [
    { soname: 'libext2fs.so.2', dir: `/lib/${TRIPLET}` },
    { soname: 'libe2p.so.2', dir: `/lib/${TRIPLET}` },
  ],
  'libcom-err2': [{ soname: 'libcom_err.so.2', dir: `/lib/${TRIPLET}` }],
  libblkid1: [{ soname: 'libblkid.so.1', dir: `/usr/lib/${TRIPLET}` }],
  libuuid1: [{ soname: 'libuuid.so.1', dir: `/usr/lib/${TRIPLET}` }],
  libc6: [{ soname: 'libc.so.6', dir: `/lib/${TRIPLET}` }],
};
const PROVIDED = new Set([`/lib/${TRIPLET}/libc.so.6`, '/lib64/ld-linux-x86-64.so.2']);
const hostHasE2fsck =
  process.arch === 'x64' &&
  existsSync(E2FSCK) &&
  Object.values(HOST_LIBS)
    .flat()
    .every((l) => existsSync(path.join(l.dir, l.soname)));

let work: string;
let e2fsprogs: ToolSource;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'kiln-tools-'));
  if (!hostHasE2fsck) return;
  const tree = path.join(work, 'e2fsprogs');
  await mkdir(path.join(tree, 'sbin'), { recursive: true });
  await copyFile(E2FSCK, path.join(tree, 'sbin/e2fsck'));
  const libraries = [];
  for (const [pkg, libs] of Object.entries(HOST_LIBS)) {
    const pkgTree = path.join(work, pkg);
    for (const lib of libs) {
      const dir = path.join(pkgTree, lib.dir.slice(1));
      await mkdir(dir, { recursive: true });
      await copyFile(await realpath(path.join(lib.dir, lib.soname)), path.join(dir, lib.soname));
    }
    libraries.push({ package: pkg, tree: pkgTree });
  }
  e2fsprogs = { role: 'e2fsck', package: 'e2fsprogs', tree, binaries: [{ source: 'sbin/e2fsck', target: '/usr/sbin/e2fsck' }], libraries };
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

function sources(tools: ToolSource[], inputHashes = ['a'.repeat(64)]): ToolsSources {
  return { tools, provided: PROVIDED, inputHashes, triplet: TRIPLET, elfMachine: 62 };
}

function files(entries: CpioEntry[]): Map<string, Buffer> {
  return new Map(entries.flatMap((e) => (e.type === 'file' ? [[e.path, Buffer.from(e.data)] as const] : [])));
}

describe.skipIf(!hostHasE2fsck)('the tools layer (from this host e2fsck)', () => {
  test('e2fsck with exactly its libraries, not the runtime layer libc, all stripped and still linkable (readelf)', async () => {
    const layer = toolsLayer(sources([e2fsprogs]));
    expect(layer.name).toBe('tools');
    const content = await layer.build();
    const shipped = files(content.entries);
    expect([...shipped.keys()].sort()).toEqual([
      `/lib/${TRIPLET}/libblkid.so.1`,
      `/lib/${TRIPLET}/libcom_err.so.2`,
      `/lib/${TRIPLET}/libe2p.so.2`,
      `/lib/${TRIPLET}/libext2fs.so.2`,
      `/lib/${TRIPLET}/libuuid.so.1`,
      '/usr/sbin/e2fsck',
    ]);
    expect(content.entries.every((e) => e.type !== 'file' || e.mode === 0o755)).toBe(true);
    expect(Object.keys(content.parts)).toEqual(['e2fsck (e2fsprogs) with its libraries']);
    expect(Object.values(content.parts)[0]).toBe([...shipped.values()].reduce((n, d) => n + d.length, 0));

    const binary = path.join(work, 'shipped-e2fsck');
    await writeFile(binary, shipped.get('/usr/sbin/e2fsck')!);
    const dynamic = execFileSync('readelf', ['-d', binary]).toString();
    for (const soname of ['libext2fs.so.2', 'libcom_err.so.2', 'libblkid.so.1', 'libuuid.so.1', 'libe2p.so.2', 'libc.so.6']) {
      expect(dynamic).toContain(`Shared library: [${soname}]`);
    }
    // Stripped: no symbol table left, the dynamic symbols kept.
    const sections = execFileSync('readelf', ['-S', '-W', binary]).toString();
    expect(sections).not.toMatch(/\s\.symtab\s/);
    expect(sections).toMatch(/\s\.dynsym\s/);
  });

  test('a soname none of the tool packages provides stops the build, naming the library, who needs it and the packages', async () => {
    const without = { ...e2fsprogs, libraries: e2fsprogs.libraries.filter((l) => l.package !== 'libcom-err2') };
    await expect(toolsLayer(sources([without])).build()).rejects.toThrow(
      /^\/usr\/sbin\/e2fsck needs libcom_err\.so\.2, which none of the library packages provides \(libext2fs2, libblkid1, libuuid1, libc6\)$/,
    );
  });

  test('a binary missing from its package is an error naming both', async () => {
    const moved = { ...e2fsprogs, binaries: [{ source: 'usr/sbin/e2fsck', target: '/usr/sbin/e2fsck' }] };
    await expect(toolsLayer(sources([moved])).build()).rejects.toThrow('Debian package e2fsprogs has no usr/sbin/e2fsck, the e2fsck kiln ships');
  });

  test('the cache key follows the inputs and what the runtime layer provides', () => {
    const key = toolsLayer(sources([e2fsprogs])).key;
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(toolsLayer(sources([e2fsprogs])).key).toBe(key);
    expect(toolsLayer(sources([e2fsprogs], ['b'.repeat(64)])).key).not.toBe(key);
    expect(toolsLayer({ ...sources([e2fsprogs]), provided: new Set([...PROVIDED, `/lib/${TRIPLET}/libuuid.so.1`]) }).key).not.toBe(key);
  });
});
