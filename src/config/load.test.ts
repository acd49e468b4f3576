import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { ConfigError } from './errors.js';
import { loadConfig, validateYaml } from './load.js';

function problem(text: string): string {
  try {
    validateYaml('kiln.yml', text);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('kiln.yml validation', () => {
  test('defaults are filled in', () => {
    const c = validateYaml('kiln.yml', 'name: gw\n');
    expect(c).toEqual({
      name: 'gw',
      version: '0.0.0',
      arch: 'x86_64',
      layout: 'initramfs',
      kernel: { cmdline: '', modules: [] },
      compression: { release: { algorithm: 'xz', level: 9, extreme: true }, fast: { algorithm: 'zstd', level: 3 } },
      debug: false,
      files: [],
      programs: [],
      containers: [],
      containerStore: '/data/kiln/containers',
    });
  });

  test('an unknown key points at the key, with a suggestion', () => {
    expect(problem('name: x\nkernel:\n  modules: []\n  comdline: quiet\n')).toBe(
      'kiln.yml:4:3: kernel.comdline: unknown key "comdline" (did you mean "cmdline"?); expected one of "package", "cmdline", "modules"',
    );
  });

  test('a misspelt required key is reported as the misspelling, not as missing', () => {
    expect(problem('nme: x\n')).toMatch(/^kiln\.yml:1:1: nme: unknown key "nme" \(did you mean "name"\?\)/);
  });

  test('wrong types and values name expected and found', () => {
    expect(problem('name: x\narch: arm\n')).toBe('kiln.yml:2:7: arch: expected one of "x86_64", "aarch64", found "arm"');
    expect(problem('name: x\nkernel:\n  modules: virtio_blk\n')).toBe('kiln.yml:3:12: kernel.modules: expected a list, found "virtio_blk"');
    expect(problem('name: x\nkernel:\n  modules: [virtio_blk, "virtio blk"]\n')).toBe(
      'kiln.yml:3:25: kernel.modules[1]: expected a kernel module name like "virtio_blk", found "virtio blk"',
    );
    expect(problem('name: x\ncompression:\n  fast: {algorithm: zstd, level: 30}\n')).toBe(
      'kiln.yml:3:34: compression.fast.level: expected at most 22, found number 30',
    );
    expect(problem('name: Bad_Name\n')).toMatch(/^kiln\.yml:1:7: name: expected lower-case letters, digits and "-"/);
  });

  test('missing name points at the document', () => {
    expect(problem('arch: x86_64\n')).toBe('kiln.yml:1:1: name: missing; expected a string');
  });

  test('invalid YAML and duplicate keys have positions', () => {
    expect(problem('name: x\nkernel: [\n')).toMatch(/^kiln\.yml:\d+:\d+: invalid YAML: /);
    expect(problem('name: x\nname: y\n')).toMatch(/^kiln\.yml:2:1: invalid YAML: Map keys must be unique/);
  });
});

describe('kiln.config.ts', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  test('a typed defineConfig module loads through the same schema', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-ts-config-'));
    dirs.push(dir);
    const define = path.resolve(import.meta.dirname, 'define.ts');
    await writeFile(
      path.join(dir, 'kiln.config.ts'),
      `import { defineConfig } from '${define}';\nconst modules: string[] = ['virtio_blk'];\nexport default defineConfig({ name: 'ts-device', kernel: { modules } });\n`,
    );
    const loaded = await loadConfig(path.join(dir, 'kiln.config.ts'));
    expect(loaded.config.name).toBe('ts-device');
    expect(loaded.config.kernel.modules).toEqual(['virtio_blk']);
  });

  test('errors in a TypeScript config name file, line and key path', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-ts-config-'));
    dirs.push(dir);
    const file = path.join(dir, 'kiln.config.ts');
    await writeFile(file, `export default {\n  name: 'x',\n  kernel: {\n    modules: 'virtio_blk',\n  },\n};\n`);
    await expect(loadConfig(file)).rejects.toThrow(`${file}:4:5: kernel.modules: expected a list, found "virtio_blk"`);
  });
});
