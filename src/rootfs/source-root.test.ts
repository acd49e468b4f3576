import { describe, expect, test } from 'vitest';
import type { CpioEntry } from '../formats/cpio/index.js';
import { firstStageConfig, mergeSticks, splitSourceRoot, SOURCE_MOUNT } from './source-root.js';

const file = (p: string, text = p): CpioEntry => ({ type: 'file', path: p, mode: 0o644, data: Buffer.from(text) });

const runtime: CpioEntry[] = [
  file('/usr/bin/node', 'ELF node'),
  { type: 'dir', path: '/usr/lib/kiln/node_modules/koffi', mode: 0o755 },
  file('/usr/lib/kiln/node_modules/koffi/index.js'),
  file('/usr/lib/kiln/node_modules/@koromix/koffi-linux-x64/linux_x64/koffi.node'),
  file('/lib64/ld-linux-x86-64.so.2', 'loader'),
  file('/lib/x86_64-linux-gnu/libc.so.6', 'libc'),
];
const kiln: CpioEntry[] = [
  { type: 'dir', path: '/proc', mode: 0o755 },
  { type: 'char', path: '/dev/console', mode: 0o600, major: 5, minor: 1 },
  file('/init', '#!/usr/bin/node /usr/lib/kiln/device/init/main.ts\n'),
  file('/usr/lib/kiln/device/init/main.ts'),
  file('/etc/kiln/boot.json', '{}'),
  file('/etc/motd'),
  { type: 'dir', path: '/src/greet', mode: 0o755 },
  file('/src/greet/main.ts'),
  file('/src/greet/node_modules/ms/index.js'),
  file('/usr/bin/greet', '#!/usr/bin/node /usr/lib/kiln/device/programs/run.js\n'),
];

describe('splitSourceRoot', () => {
  const split = splitSourceRoot({
    runtime,
    kiln,
    debArch: 'amd64',
    firstStage: Buffer.from('FIRST'),
    labels: ['KILN_A', 'KILN_B', 'ESP'],
    modules: ['/lib/modules/r/vfat.ko'],
    buildId: 'b1d',
  });

  test('Node and the libraries go to linux_<arch>/, the init, packages and programs to the shared src/', () => {
    expect(split.stick.map((f) => f.path)).toEqual([
      'linux_amd64/bin/node',
      'linux_amd64/kiln-build',
      'linux_amd64/lib/ld-linux-x86-64.so.2',
      'linux_amd64/lib/libc.so.6',
      'src/greet/main.ts',
      'src/greet/node_modules/ms/index.js',
      'src/kiln/device/init/main.ts',
      'src/kiln/node_modules/@koromix/koffi-linux-x64/linux_x64/koffi.node',
      'src/kiln/node_modules/koffi/index.js',
    ]);
    expect(Buffer.from(split.stick.find((f) => f.path === 'linux_amd64/lib/libc.so.6')!.data).toString()).toBe('libc');
    // The stamp the first stage demands: this build's id, no newline.
    expect(Buffer.from(split.stick.find((f) => f.path === 'linux_amd64/kiln-build')!.data).toString()).toBe('b1d');
  });

  test('the initramfs keeps the rest, the first stage as /init, and links every moved path into the mount', () => {
    const byPath = new Map(split.initramfs.map((e) => [e.path, e]));
    expect(byPath.get('/init')).toMatchObject({ type: 'file', mode: 0o755, data: Buffer.from('FIRST') });
    expect(Buffer.from((byPath.get('/etc/kiln/first-stage') as { data: Uint8Array }).data).toString()).toBe(
      'label KILN_A\nlabel KILN_B\nlabel ESP\nmount /source vfat\nwait 120\nstamp linux_amd64/kiln-build b1d\nmodule /lib/modules/r/vfat.ko\nexec /usr/bin/node /usr/lib/kiln/device/init/main.ts\n',
    );
    for (const kept of ['/proc', '/dev/console', '/etc/kiln/boot.json', '/etc/motd', '/usr/bin/greet', SOURCE_MOUNT]) expect(byPath.has(kept)).toBe(true);
    const links = Object.fromEntries(split.initramfs.flatMap((e) => (e.type === 'symlink' ? [[e.path, e.target]] : [])));
    expect(links).toEqual({
      '/usr/bin/node': '/source/linux_amd64/bin/node',
      '/usr/lib/kiln': '/source/src/kiln',
      '/src': '/source/src',
      '/lib64/ld-linux-x86-64.so.2': '/source/linux_amd64/lib/ld-linux-x86-64.so.2',
      '/lib/x86_64-linux-gnu/libc.so.6': '/source/linux_amd64/lib/libc.so.6',
    });
    // Nothing is both a link and a file: no initramfs path lies under a linked folder.
    for (const e of split.initramfs) {
      if (e.type !== 'symlink') expect(e.path === '/src' || e.path.startsWith('/src/') || e.path.startsWith('/usr/lib/kiln/')).toBe(false);
    }
  });
});

describe('firstStageConfig', () => {
  test('label, mount, wait, the modules in order, then the init from the stick', () => {
    expect(firstStageConfig({ labels: ['ESP'], modules: ['/lib/modules/r/a.ko', '/lib/modules/r/b.ko'], waitSeconds: 120 })).toBe(
      'label ESP\nmount /source vfat\nwait 120\nmodule /lib/modules/r/a.ko\nmodule /lib/modules/r/b.ko\nexec /usr/bin/node /usr/lib/kiln/device/init/main.ts\n',
    );
  });
});

describe('mergeSticks', () => {
  const f = (p: string, text = p) => ({ path: p, data: Buffer.from(text) });
  test('each architecture keeps its folder; the shared files appear once', () => {
    const merged = mergeSticks([
      { arch: 'x86_64', files: [f('linux_amd64/bin/node'), f('src/kiln/a.ts')] },
      { arch: 'aarch64', files: [f('linux_arm64/bin/node'), f('src/kiln/a.ts')] },
    ]);
    expect(merged.map((x) => x.path)).toEqual(['linux_amd64/bin/node', 'linux_arm64/bin/node', 'src/kiln/a.ts']);
  });
  test('a shared file that differs between architectures is refused, naming both', () => {
    expect(() =>
      mergeSticks([
        { arch: 'x86_64', files: [f('src/kiln/a.ts', 'one')] },
        { arch: 'aarch64', files: [f('src/kiln/a.ts', 'two')] },
      ]),
    ).toThrow('the shared src/kiln/a.ts differs between the x86_64 and aarch64 builds');
  });
});
