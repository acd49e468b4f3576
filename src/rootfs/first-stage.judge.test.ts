// The first stage of `layout: source`, compiled by the real compilers for both architectures and judged by binutils'
// readelf (static, no interpreter, the right machine). Then the x86_64 one really runs on this host: in a private
// mount namespace, chrooted into a tiny root, it must find a FAT filesystem that mkfs.fat (not kiln) labelled, on a
// loop device, mount it read-only and execute a program from it with the configured arguments.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { ARCHES } from '../config/schema.js';
import { Cache } from '../inputs/cache.js';
import { compileFirstStage, firstStageCompiler } from './first-stage.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-first-stage-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cache = new Cache(join(dir, 'cache'));

describe('compileFirstStage', () => {
  for (const arch of ARCHES) {
    test(`${arch}: a small static executable of that machine (readelf), the same bytes from the cache`, async () => {
      const bytes = await compileFirstStage(arch, cache);
      const file = join(dir, `first-stage-${arch}`);
      writeFileSync(file, bytes);
      const header = execFileSync('readelf', ['-h', '-l', file], { encoding: 'utf8' });
      expect(header).toMatch(/Type:\s+EXEC/);
      expect(header).toMatch(arch === 'x86_64' ? /Machine:\s+Advanced Micro Devices X86-64/ : /Machine:\s+AArch64/);
      expect(header).not.toMatch(/INTERP|DYNAMIC/);
      expect(bytes.length).toBeLessThan(16 * 1024);
      expect(Buffer.compare(Buffer.from(await compileFirstStage(arch, cache)), Buffer.from(bytes))).toBe(0);
    });
  }

  test('a missing compiler is a one-line error naming the package to install', async () => {
    process.env.KILN_CC_AARCH64 = 'no-such-compiler-for-kiln';
    try {
      expect(firstStageCompiler('aarch64')).toBe('no-such-compiler-for-kiln');
      await expect(compileFirstStage('aarch64', cache)).rejects.toThrow(
        /layout: source needs a C compiler for aarch64 .*"no-such-compiler-for-kiln" is not there/,
      );
    } finally {
      delete process.env.KILN_CC_AARCH64;
    }
  });
});

const canLoop = process.getuid?.() === 0 && spawnSync('losetup', ['--version']).status === 0 && spawnSync('mkfs.fat', ['--help']).status !== null;
const busybox = '/bin/busybox';
// The stick is FAT32 on a device; a host kernel without vfat (some containers) checks the ext4 label path instead.
const fstype = /\tvfat\n/.test(spawnSync('cat', ['/proc/filesystems'], { encoding: 'utf8' }).stdout ?? '') ? 'vfat' : 'ext4';

describe.skipIf(!canLoop || process.arch !== 'x64' || spawnSync(busybox, ['true']).status !== 0)(
  'the x86_64 first stage on this host (root, loop device)',
  () => {
    test(`finds the filesystem (${fstype}, made by mkfs) by its label, mounts it read-only, executes from it`, async () => {
      const label = `KJ${process.pid % 100000}`;
      const image = join(dir, 'stick.img');
      execFileSync('truncate', ['-s', '40M', image]);
      if (fstype === 'vfat') {
        execFileSync('mkfs.fat', ['-F', '32', '-n', label, image], { stdio: 'ignore' });
        execFileSync('mcopy', ['-i', image, busybox, '::/busybox'], { env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
      } else {
        mkdirSync(join(dir, 'content'));
        copyFileSync(busybox, join(dir, 'content/busybox'));
        execFileSync('mkfs.ext4', ['-q', '-L', label, '-d', join(dir, 'content'), image]);
      }
      const root = join(dir, 'root');
      mkdirSync(join(root, 'etc/kiln'), { recursive: true });
      writeFileSync(join(root, 'init'), await compileFirstStage('x86_64', cache));
      chmodSync(join(root, 'init'), 0o755);
      writeFileSync(join(root, 'etc/kiln/first-stage'), `label ${label}\nmount /source ${fstype}\nwait 5\nexec /source/busybox echo first stage handed over\n`);
      const loop = execFileSync('losetup', ['--find', '--show', image], { encoding: 'utf8' }).trim();
      try {
        const r = spawnSync('unshare', ['--mount', '--fork', 'chroot', root, '/init'], { encoding: 'utf8', timeout: 30_000 });
        expect(r.stdout).toContain(`kiln: first stage: ${loop} mounted read-only at /source`);
        expect(r.stdout).toContain('first stage handed over');
        expect(r.status).toBe(0);
      } finally {
        execFileSync('losetup', ['-d', loop]);
      }
    });

    test('no such label: says what it waited for and exits non-zero (the kernel would reboot)', async () => {
      const root = join(dir, 'root-missing');
      mkdirSync(join(root, 'etc/kiln'), { recursive: true });
      copyFileSync(join(dir, 'root/init'), join(root, 'init'));
      writeFileSync(join(root, 'etc/kiln/first-stage'), 'label NOSUCHLABEL\nmount /source vfat\nwait 1\nexec /source/busybox true\n');
      const r = spawnSync('unshare', ['--mount', '--fork', 'chroot', root, '/init'], { encoding: 'utf8', timeout: 30_000 });
      expect(r.stdout).toContain('kiln: first stage: no filesystem labelled NOSUCHLABEL appeared');
      expect(r.status).not.toBe(0);
    });
  },
);
