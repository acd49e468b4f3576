/**
 * Bad input to `kiln build`: one clear line naming what and where, a non-zero exit, and nothing written
 * (an existing image stays byte for byte as it was). Uses the warm input cache when present; the tests that
 * need no network at all say so.
 */
import { chmod, copyFile, mkdtemp, readFile, rm, symlink, writeFile, mkdir, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { kiln } from '../helpers/cli.js';

const root = path.resolve(import.meta.dirname, '../..');
let work: string;
let out: string;
const previous = Buffer.from('an image from an earlier build\n');

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'kiln-bad-'));
  out = path.join(work, 'out');
  await mkdir(out);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function withConfig(name: string, yaml: string, lock?: string): Promise<string> {
  const dir = path.join(work, name);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'kiln.yml'), yaml);
  if (lock) await writeFile(path.join(dir, 'kiln.lock'), lock);
  await writeFile(path.join(out, 'BOOTX64.EFI'), previous);
  return path.join(dir, 'kiln.yml');
}

async function expectNothingWritten(): Promise<void> {
  expect(await readFile(path.join(out, 'BOOTX64.EFI'))).toEqual(previous);
  expect((await readdir(out)).filter((f) => f !== 'BOOTX64.EFI')).toEqual([]);
}

function oneErrorLine(stderr: string): string {
  const errors = stderr.split('\n').filter((l) => l.startsWith('kiln: error: '));
  expect(errors).toHaveLength(1);
  return errors[0]!;
}

describe('kiln build rejects bad input', () => {
  test('invalid YAML names file, line and column', async () => {
    const file = await withConfig('yaml', 'name: x\nkernel:\n  modules: [virtio_blk\n');
    const r = await kiln(['build', file, '--out', out]);
    expect(r.code).toBe(1);
    expect(oneErrorLine(r.stderr)).toMatch(/kiln\.yml:4:1: invalid YAML: /);
    await expectNothingWritten();
  });

  test('a misspelt key is an error with a suggestion', async () => {
    const file = await withConfig('typo', 'name: x\nkernel:\n  modlues: [virtio_blk]\n');
    const r = await kiln(['build', file, '--out', out]);
    expect(r.code).toBe(1);
    expect(oneErrorLine(r.stderr)).toBe(
      `kiln: error: ${file}:3:3: kernel.modlues: unknown key "modlues" (did you mean "modules"?); expected one of "package", "cmdline", "modules"`,
    );
    await expectNothingWritten();
  });

  test('a wrong type says what was expected and what was found', async () => {
    const file = await withConfig('type', 'name: x\ncompression:\n  release: {algorithm: xz, level: "max"}\n');
    const r = await kiln(['build', file, '--out', out]);
    expect(r.code).toBe(1);
    expect(oneErrorLine(r.stderr)).toBe(`kiln: error: ${file}:3:35: compression.release.level: expected a number, found "max"`);
    await expectNothingWritten();
  });

  test('an unwritable output folder is refused before any work', async () => {
    const file = await withConfig('unwritable', 'name: x\n');
    const blocker = path.join(work, 'a-file');
    await writeFile(blocker, '');
    const r = await kiln(['build', file, '--out', path.join(blocker, 'out')]);
    expect(r.code).toBe(1);
    expect(oneErrorLine(r.stderr)).toMatch(/--out .*a-file\/out: cannot write there \(ENOTDIR\)/);
  });

  test('layout: source never replaces a src/ folder kiln did not write; nothing is written', async () => {
    const file = await withConfig('source-out', 'name: x\nlayout: source\n', await readFile(path.join(root, 'examples/kiln.lock'), 'utf8'));
    const own = path.join(out, 'src', 'app', 'main.ts');
    await mkdir(path.dirname(own), { recursive: true });
    await writeFile(own, 'user code\n');
    try {
      const r = await kiln(['build', file, '--out', out]);
      expect(r.code).toBe(1);
      expect(oneErrorLine(r.stderr)).toBe(
        `kiln: error: ${path.join(out, 'src')} exists and is not a stick tree kiln wrote (no src/kiln): layout: source writes its shared src/ there`,
      );
      expect(await readFile(own, 'utf8')).toBe('user code\n');
      expect(await readFile(path.join(out, 'BOOTX64.EFI'))).toEqual(previous);
      expect((await readdir(out)).sort()).toEqual(['BOOTX64.EFI', 'src']);
    } finally {
      await rm(path.join(out, 'src'), { recursive: true, force: true });
    }
  });

  test('a config file that does not exist', async () => {
    const r = await kiln(['build', path.join(work, 'nope.yml'), '--out', out]);
    expect(r.code).toBe(1);
    expect(oneErrorLine(r.stderr)).toMatch(/nope\.yml: cannot read config \(ENOENT\)/);
  });

  test('a hash mismatch names the input and both hashes', async () => {
    const lock = JSON.parse(await readFile(path.join(root, 'examples/kiln.lock'), 'utf8'));
    const entry = lock.inputs['x86_64/stub'];
    const pinned = entry.sha256;
    entry.sha256 = pinned.replace(/^./, (c: string) => (c === '0' ? '1' : '0'));
    const file = await withConfig('mismatch', 'name: x\n', JSON.stringify(lock));
    const r = await kiln(['build', file, '--out', out]);
    expect(r.code).toBe(1);
    expect(oneErrorLine(r.stderr)).toBe(
      `kiln: error: input x86_64/stub (systemd-boot-efi ${entry.version}): sha256 mismatch: kiln.lock pins ${entry.sha256}, the download is ${pinned}`,
    );
    await expectNothingWritten();
  }, 120_000);

  test('an unknown package is named', async () => {
    const file = await withConfig('unknown', 'name: x\nkernel:\n  package: linux-image-does-not-exist\n');
    const r = await kiln(['build', file, '--out', out]);
    expect(r.code).toBe(1);
    expect(oneErrorLine(r.stderr)).toMatch(/Debian package linux-image-does-not-exist \(amd64\): .*(Unable to locate|no installation candidate)/);
    await expectNothingWritten();
  }, 180_000);

  test('no network with a cold cache says so', async () => {
    const cold = path.join(work, 'cold-cache');
    // Every download goes through a proxy that does not exist: apt via APT_CONFIG, npm via its proxy setting.
    const aptConf = path.join(work, 'apt-offline.conf');
    await writeFile(aptConf, 'Acquire::http::Proxy "http://127.0.0.1:9";\nAcquire::https::Proxy "http://127.0.0.1:9";\nAcquire::Retries "0";\n');
    const file = await withConfig('offline', 'name: x\n');
    const r = await kiln(['build', file, '--out', out], {
      env: {
        XDG_CACHE_HOME: cold,
        APT_CONFIG: aptConf,
        npm_config_proxy: 'http://127.0.0.1:9',
        npm_config_https_proxy: 'http://127.0.0.1:9',
        npm_config_fetch_retries: '0',
      },
    });
    expect(r.code).toBe(1);
    expect(oneErrorLine(r.stderr)).toMatch(/cannot update the Debian package lists for amd64|npm pack failed/);
    expect(r.stderr).toMatch(/Check the network/);
    await expectNothingWritten();
  }, 120_000);

  test('a missing host tool names the Debian package to install', async () => {
    // A PATH with everything kiln runs except xz (needed for the release profile), and no binutils at all.
    const bin = path.join(work, 'bin-no-xz');
    await mkdir(bin, { recursive: true });
    for (const tool of ['node', 'npm', 'apt-get', 'dpkg-deb', 'dpkg', 'zstd', 'tar', 'gzip', 'sh']) {
      const where = ['/usr/bin', '/bin', '/usr/local/bin'].map((d) => path.join(d, tool));
      for (const w of where) {
        try {
          await symlink(w, path.join(bin, tool));
          await readFile(w).then(() => undefined);
          break;
        } catch {
          await rm(path.join(bin, tool), { force: true });
        }
      }
    }
    const file = await withConfig('no-xz', 'name: x\n');
    await copyFile(path.join(root, 'examples/kiln.lock'), path.join(path.dirname(file), 'kiln.lock'));
    const r = await kiln(['build', file, '--out', out], { env: { PATH: bin } });
    // node itself is found by absolute path (process.execPath), so only kiln's tools are affected.
    expect(r.code).toBe(1);
    expect(oneErrorLine(r.stderr)).toBe('kiln: error: xz is not installed (needed by kiln)');
    expect(r.stderr).toContain('apt-get install -y xz-utils');
    await expectNothingWritten();
    void chmod;
  }, 600_000);
});
