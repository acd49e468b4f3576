// The first stage of `layout: source`, compiled by the real compilers for both architectures and judged by binutils'
// readelf (static, no interpreter, the right machine). Then the x86_64 one really runs on this host: in a private
// mount namespace, chrooted into a tiny root, it must find a FAT filesystem that mkfs.fat (not kiln) labelled, on a
// loop device, mount it read-only and execute a program from it with the configured arguments; among several
// labelled filesystems (A/B update slots) it must pick the one whose stamp file holds its build id.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
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

/** A filesystem image labelled `label`, made by mkfs (not kiln), holding busybox and `files` (path → content). */
function makeImage(name: string, label: string, files: Record<string, string> = {}): string {
  const content = join(dir, `${name}-content`);
  mkdirSync(content, { recursive: true });
  copyFileSync(busybox, join(content, 'busybox'));
  for (const [file, data] of Object.entries(files)) {
    mkdirSync(dirname(join(content, file)), { recursive: true });
    writeFileSync(join(content, file), data);
  }
  const image = join(dir, `${name}.img`);
  execFileSync('truncate', ['-s', '40M', image]);
  if (fstype === 'vfat') {
    execFileSync('mkfs.fat', ['-F', '32', '-n', label, image], { stdio: 'ignore' });
    const top = readdirSync(content).map((f) => join(content, f));
    execFileSync('mcopy', ['-s', '-i', image, ...top, '::/'], { env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
  } else {
    execFileSync('mkfs.ext4', ['-q', '-L', label, '-d', content, image]);
  }
  return image;
}

/** A tiny root holding the x86_64 first stage as /init and `directives` as /etc/kiln/first-stage. */
async function makeRoot(name: string, directives: string): Promise<string> {
  const root = join(dir, name);
  mkdirSync(join(root, 'etc/kiln'), { recursive: true });
  writeFileSync(join(root, 'init'), await compileFirstStage('x86_64', cache));
  chmodSync(join(root, 'init'), 0o755);
  writeFileSync(join(root, 'etc/kiln/first-stage'), directives);
  return root;
}

const loops: string[] = [];
function attach(image: string): string {
  const loop = execFileSync('losetup', ['--find', '--show', image], { encoding: 'utf8' }).trim();
  loops.push(loop);
  return loop;
}
afterEach(() => {
  for (const loop of loops.splice(0)) execFileSync('losetup', ['-d', loop]);
});

const runArgs = (root: string) => ['--mount', '--fork', 'chroot', root, '/init'];
const count = (text: string, part: string) => text.split(part).length - 1;

describe.skipIf(!canLoop || process.arch !== 'x64' || spawnSync(busybox, ['true']).status !== 0)(
  'the x86_64 first stage on this host (root, loop device)',
  () => {
    // Labels unique to this run, so that nothing else on the host matches; at most 11 characters for FAT.
    const tag = process.pid % 100000;

    test(`finds the filesystem (${fstype}, made by mkfs) by its label, mounts it read-only, executes from it`, async () => {
      const label = `KJ${tag}`;
      const loop = attach(makeImage('stick', label));
      const root = await makeRoot('root', `label ${label}\nmount /source ${fstype}\nwait 5\nexec /source/busybox echo first stage handed over\n`);
      const r = spawnSync('unshare', runArgs(root), { encoding: 'utf8', timeout: 30_000 });
      expect(r.stdout).toContain(`kiln: first stage: ${loop} mounted read-only at /source`);
      expect(r.stdout).toContain('first stage handed over');
      expect(r.status).toBe(0);
    });

    test('no such label: says what it waited for and exits non-zero (the kernel would reboot)', async () => {
      const root = await makeRoot('root-missing', 'label NOSUCHLABEL\nmount /source vfat\nwait 1\nexec /source/busybox true\n');
      const r = spawnSync('unshare', runArgs(root), { encoding: 'utf8', timeout: 30_000 });
      expect(r.stdout).toContain('kiln: first stage: no filesystem labelled NOSUCHLABEL appeared');
      expect(r.status).not.toBe(0);
    });

    // A/B slots: the stamp is the build id. Slot A holds an older build's tree (its id one character longer than
    // this one's, so a prefix comparison would take it), the fallback holds no stamp, slot B holds this build's.
    const [slotA, slotB, fallback] = [`KA${tag}`, `KB${tag}`, `KE${tag}`];
    const stampPath = 'linux_amd64/kiln-build';
    const buildId = '1a2b3c4d5e6f';
    const stampDirectives = (stamp: string) =>
      `label ${slotA}\nlabel ${slotB}\nlabel ${fallback}\nmount /source ${fstype}\nwait 10\nstamp ${stampPath} ${stamp}\n` +
      'exec /source/busybox cat /source/which\n';

    test('several labels and a stamp: passes over the trees of other builds (once each), mounts and runs its own', async () => {
      const loopA = attach(makeImage('slot-a', slotA, { which: 'mounted slot A\n', [stampPath]: `${buildId}0` }));
      const loopE = attach(makeImage('fallback', fallback, { which: 'mounted the fallback\n' }));
      const imageB = makeImage('slot-b', slotB, { which: 'mounted slot B\n', [stampPath]: buildId });
      const root = await makeRoot('root-ab', stampDirectives(buildId));
      // Slot B appears only after A and the fallback were turned down and rescanned a few times: the order of the
      // search is then known, and each is said to be turned down once, not on every 100 ms rescan.
      const child = spawn('unshare', runArgs(root), { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      const deadline = Date.now() + 8_000;
      while (!(out.includes(`${loopA} (labelled`) && out.includes(`${loopE} (labelled`)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 700));
      const loopB = attach(imageB);
      const status = await exited;
      expect(out).toContain(`kiln: first stage: ${loopA} (labelled ${slotA}) holds another firmware's tree (${stampPath} is not ${buildId}); looking further`);
      expect(out).toContain(`kiln: first stage: ${loopE} (labelled ${fallback}) has no ${stampPath}, so not this firmware's tree; looking further`);
      expect(count(out, `${loopA} (labelled`)).toBe(1);
      expect(count(out, `${loopE} (labelled`)).toBe(1);
      expect(out).toContain(`kiln: first stage: ${loopB} mounted read-only at /source (labelled ${slotB})`);
      expect(out).toContain('kiln: first stage: waited for it (ms): ');
      expect(out).toContain('mounted slot B');
      expect(out).not.toContain('mounted slot A');
      expect(status).toBe(0);
    }, 60_000);

    test('a stamp no candidate holds: names the labels and the stamp, exits non-zero, executes nothing', async () => {
      // Both trees hold ids that start with the one demanded: only the whole content counts.
      const loopA = attach(makeImage('slot-a2', slotA, { which: 'mounted slot A\n', [stampPath]: `${buildId}0` }));
      const loopB = attach(makeImage('slot-b2', slotB, { which: 'mounted slot B\n', [stampPath]: `${buildId}\n` }));
      const other = buildId.slice(0, -1);
      const root = await makeRoot('root-none', stampDirectives(other).replace('wait 10', 'wait 1'));
      const r = spawnSync('unshare', runArgs(root), { encoding: 'utf8', timeout: 30_000 });
      expect(r.stdout).toContain(
        `kiln: first stage: no filesystem labelled ${slotA}, ${slotB} or ${fallback} holding ${stampPath} = ${other} appeared: cannot start (the device reboots)`,
      );
      expect(count(r.stdout, `${loopA} (labelled ${slotA}) holds another firmware's tree`)).toBe(1);
      expect(count(r.stdout, `${loopB} (labelled ${slotB}) holds another firmware's tree`)).toBe(1);
      expect(r.stdout).not.toContain('mounted read-only');
      expect(r.stdout).not.toMatch(/mounted slot/);
      expect(r.status).not.toBe(0);
    });

    test('the stamp file may end in one newline', async () => {
      const label = `KN${tag}`;
      const loop = attach(makeImage('stamp-newline', label, { which: 'mounted it\n', [stampPath]: `${buildId}\n` }));
      const root = await makeRoot(
        'root-newline',
        `label ${label}\nmount /source ${fstype}\nwait 5\nstamp ${stampPath} ${buildId}\nexec /source/busybox cat /source/which\n`,
      );
      const r = spawnSync('unshare', runArgs(root), { encoding: 'utf8', timeout: 30_000 });
      expect(r.stdout).toContain(`kiln: first stage: ${loop} mounted read-only at /source (labelled ${label})`);
      expect(r.stdout).toContain('mounted it');
      expect(r.status).toBe(0);
    });
  },
);
