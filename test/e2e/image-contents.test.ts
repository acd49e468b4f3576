/**
 * What is inside a built image, judged from the outside: objdump lists the UKI's sections, the initramfs is
 * decompressed by the zstd tool and listed by GNU cpio, and every ELF shipped finds exactly its shared libraries
 * (nothing missing, nothing extra), every module its dependencies.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { decodeCpio, type CpioEntry } from '../../src/formats/cpio/index.js';
import { decodeElf, isElf } from '../../src/formats/elf/index.js';
import { parseModulesDep } from '../../src/formats/modules/index.js';
import { decodePe } from '../../src/formats/pe/index.js';
import { kiln } from '../helpers/cli.js';
import { seedCache } from '../helpers/seed-cache.js';

let work: string;
let efi: Buffer;
let cpioBytes: Buffer;
const files = new Map<string, CpioEntry>();

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'kiln-contents-'));
  const r = await kiln(['build', 'examples/minimal.yml', '--out', work, '--profile', 'fast', '-q', '--json']);
  expect(r.code).toBe(0);
  efi = await readFile(path.join(work, 'BOOTX64.EFI'));
  const pe = decodePe(efi);
  const initrd = pe.sections.find((s) => s.name === '.initrd')!;
  // The initramfs is several zstd frames laid end to end; zstd -d decodes them back to back.
  cpioBytes = execFileSync('zstd', ['-dc'], { input: efi.subarray(initrd.pointerToRawData, initrd.pointerToRawData + initrd.virtualSize), maxBuffer: 1 << 30 });
  for (let offset = 0; offset < cpioBytes.length;) {
    const archive = decodeCpio(cpioBytes, offset);
    for (const e of archive.entries) files.set(`/${e.path}`, e);
    offset = archive.end;
    while (offset < cpioBytes.length && cpioBytes[offset] === 0) offset++;
  }
}, 600_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('the UKI of examples/minimal.yml', () => {
  test('objdump lists the UKI sections in order, .linux last', () => {
    const out = execFileSync('objdump', ['-h', path.join(work, 'BOOTX64.EFI')]).toString();
    const names = [...out.matchAll(/^\s*\d+\s+(\.\S+)/gm)].map((m) => m[1]);
    expect(names.slice(-5)).toEqual(['.osrel', '.cmdline', '.uname', '.initrd', '.linux']);
  });

  test('GNU cpio lists the first archive, and kiln decodes every layer', async () => {
    const first = decodeCpio(cpioBytes, 0);
    const file = path.join(work, 'first.cpio');
    await writeFile(file, cpioBytes.subarray(0, first.end));
    const listed = execFileSync('cpio', ['-t', '--quiet', '-F', file]).toString().trim().split('\n');
    expect(listed).toEqual(first.entries.map((e) => e.path));
    for (const p of ['/init', '/usr/bin/node', '/etc/kiln/boot.json', '/usr/lib/kiln/device/init/main.ts']) expect(files.has(p)).toBe(true);
    expect(files.get('/dev/console')).toMatchObject({ type: 'char', major: 5, minor: 1 });
    expect(files.get('/dev/null')).toMatchObject({ type: 'char', major: 1, minor: 3 });
    expect([...files.keys()].some((p) => p.endsWith('.test.ts') || p.includes('/testing/'))).toBe(false);
  });

  test('every shipped ELF finds its shared libraries, and every library is needed', () => {
    const elfs = [...files.values()].filter((e): e is Extract<CpioEntry, { type: 'file' }> => e.type === 'file' && isElf(e.data) && !e.path.endsWith('.ko'));
    const libraries = new Set(elfs.filter((e) => e.path.startsWith('lib/x86_64-linux-gnu/') || e.path.startsWith('lib64/')).map((e) => `/${e.path}`));
    const needed = new Set<string>();
    for (const e of elfs) {
      const info = decodeElf(e.data);
      if (info.interp) needed.add(info.interp);
      for (const name of info.needed) {
        const where = name.startsWith('ld-linux') ? `/lib64/${name}` : `/lib/x86_64-linux-gnu/${name}`;
        expect(files.has(where), `${e.path} needs ${name}`).toBe(true);
        needed.add(where);
      }
    }
    expect([...libraries].sort()).toEqual([...needed].sort());
  });

  test('modules.dep lists exactly the shipped modules, each with its dependencies shipped', () => {
    const depPath = [...files.keys()].find((p) => p.endsWith('/modules.dep'))!;
    const base = path.posix.dirname(depPath);
    const dep = parseModulesDep(Buffer.from((files.get(depPath) as { data: Uint8Array }).data).toString());
    const shipped = [...files.keys()]
      .filter((p) => p.endsWith('.ko'))
      .map((p) => path.posix.relative(base, p))
      .sort();
    expect([...dep.keys()].sort()).toEqual(shipped);
    for (const deps of dep.values()) for (const d of deps) expect(shipped).toContain(d);
    for (const m of ['virtio_blk.ko', 'virtio_net.ko', 'button.ko', 'evdev.ko']) expect(shipped.some((p) => p.endsWith(`/${m}`))).toBe(true);
  });

  test('a build from scratch in another cache is byte-identical (reproducible)', async () => {
    // Same downloads (hard links, no network), but nothing unpacked, stripped or compressed yet.
    const xdg = path.join(work, 'xdg');
    seedCache(xdg);
    const again = path.join(work, 'again');
    const r = await kiln(['build', 'examples/minimal.yml', '--out', again, '--profile', 'fast', '-q'], { env: { XDG_CACHE_HOME: xdg } });
    expect(r.code).toBe(0);
    expect((await readFile(path.join(again, 'BOOTX64.EFI'))).equals(efi)).toBe(true);
  }, 300_000);
});
