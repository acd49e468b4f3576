/**
 * The build's named steps, each on its own without inputs or QEMU: the boot contract, the file targets, os-release
 * and the build id. (The stick's folder steps are in stick.test.ts.)
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEVICE_SECTIONS, parseBootConfig } from '../../../device/contract/boot-config.ts';
import { validateYaml } from '../../config/load.js';
import { resolveLoaded, type ResolvedConfig } from '../../config/resolve.js';
import { KilnError } from '../../util/errors.js';
import { KILN_VERSION } from '../../version.js';
import { bootConfigJson, bootConfigOf } from './boot-config.js';
import { buildIdOf } from './build-id.js';
import { fileTargets } from './file-targets.js';
import { osRelease } from './os-release.js';

function resolved(yaml: string): ResolvedConfig {
  const file = path.resolve('/configs/dev/kiln.yml');
  return resolveLoaded({ file, dir: path.dirname(file), config: validateYaml('kiln.yml', yaml) }, '/configs');
}

const parts = {
  buildId: 'b1',
  arch: 'x86_64' as const,
  modules: [{ name: 'virtio_blk', path: '/lib/modules/r/virtio_blk.ko' }],
  programs: [],
  containerDigests: [],
};

describe('bootConfigOf', () => {
  it('carries every device-side section as the config has it, with defaults filled once', () => {
    const r = resolved(`name: gw
time: { servers: [10.0.0.1] }
statusPort: 8081
logs: { path: /data/log }
storage:
  partitions:
    - { label: DATA, mount: /data, filesystem: ext4, size: 64M }
`);
    const boot = bootConfigOf(r, parts);
    expect(boot).toMatchObject({ name: 'gw', hostname: 'gw', kilnVersion: KILN_VERSION, buildId: 'b1', arch: 'x86_64', debug: false, statusPort: 8081 });
    expect(boot.logs).toEqual({ path: '/data/log', maxBytes: 1 << 20, keep: 3 }); // the schema's defaults, filled on the host
    expect(boot.time).toEqual(r.config.time);
    expect(boot.storage).toEqual(r.config.storage);
    // boot.json's keys: the core, the device sections in the contract's order, then programs
    expect(Object.keys(JSON.parse(bootConfigJson(boot)))).toEqual([
      'name',
      'hostname',
      'kilnVersion',
      'version',
      'buildId',
      'arch',
      'modules',
      'debug',
      'storage',
      'time',
      'logs',
      'statusPort',
      'programs',
    ]);
    // what the device reads back is what the host built
    expect(parseBootConfig(bootConfigJson(boot))).toEqual(JSON.parse(bootConfigJson(boot)));
  });

  it('copies each key of the contract, and only those', () => {
    const boot = bootConfigOf(resolved('name: bare\n'), parts) as unknown as Record<string, unknown>;
    for (const key of Object.keys(DEVICE_SECTIONS)) expect(key in boot).toBe(true);
    expect(boot.files).toBeUndefined();
    expect(boot.kernel).toBeUndefined();
  });

  it('gives each container its pinned digest, and the store its default', () => {
    const r = resolved(`name: c
storage:
  partitions:
    - { label: DATA, mount: /data, filesystem: ext4, size: 64M }
containers:
  - { name: web, image: docker-archive:web.tar }
`);
    const boot = bootConfigOf(r, { ...parts, containerDigests: ['sha256:ab'] });
    expect(boot.containers?.map((c) => [c.name, c.digest])).toEqual([['web', 'sha256:ab']]);
    expect(boot.containerStore).toBe('/data/kiln/containers');
    expect(() => bootConfigOf(r, parts)).toThrow('bootConfigOf: 1 containers but 0 pinned digests');
  });

  it('uses the hostname when the config sets one', () => {
    expect(bootConfigOf(resolved('name: n\nhostname: edge-7\n'), parts).hostname).toBe('edge-7');
  });
});

describe('fileTargets', () => {
  it('resolves sources against the config folder and names each file for messages', () => {
    expect(fileTargets(resolved('name: f\nfiles:\n  - { source: files/motd, target: /etc/motd }\n'))).toEqual([
      { source: '/configs/dev/files/motd', target: '/etc/motd', mode: undefined, where: 'dev/kiln.yml: files[0]' },
    ]);
  });

  it.each(['/init', '/usr/lib/kiln/device/init/main.ts', '/etc/kiln/boot.json'])('refuses %s: it would replace a file of kiln itself', (target) => {
    const r = resolved(`name: f\nfiles:\n  - { source: a, target: /etc/a }\n  - { source: b, target: ${target} }\n`);
    expect(() => fileTargets(r)).toThrow(KilnError);
    expect(() => fileTargets(r)).toThrow(`dev/kiln.yml: files[1].target: ${target} would replace a file of kiln itself`);
  });
});

describe('osRelease', () => {
  it('names the image, its version and its build id; layout: source adds the stick label', () => {
    const text = osRelease(resolved('name: o\nversion: 1.2.3\n').config, 'abc');
    expect(text.split('\n')).toEqual([
      'NAME=kiln',
      'ID=kiln',
      `VERSION_ID=${KILN_VERSION}`,
      `PRETTY_NAME="kiln ${KILN_VERSION} (o)"`,
      'IMAGE_ID=o',
      'IMAGE_VERSION=1.2.3',
      'BUILD_ID=abc',
      '',
    ]);
    expect(osRelease(resolved('name: o\nlayout: source\n').config, 'abc')).toMatch(/^KILN_LAYOUT=source\nKILN_SOURCE_LABEL=\S+\n$/m);
  });
});

describe('buildIdOf', () => {
  const base = { config: resolved('name: i\n').config, profile: 'release' as const, mtime: 0, inputHashes: ['a', 'b'], programs: 'p', sources: 's' };
  it('is 16 hex digits, the same for the same inputs, different when any input changes', () => {
    expect(buildIdOf(base)).toMatch(/^[0-9a-f]{16}$/);
    expect(buildIdOf({ ...base })).toBe(buildIdOf(base));
    for (const changed of [
      { profile: 'fast' as const },
      { mtime: 1 },
      { inputHashes: ['a', 'c'] },
      { programs: 'q' },
      { sources: 't' },
      { config: resolved('name: j\n').config },
    ]) {
      expect(buildIdOf({ ...base, ...changed })).not.toBe(buildIdOf(base));
    }
  });

  it('is the same signed or not: the signature wraps the image, the key is not part of it', () => {
    const signed = resolved('name: i\nsigning: { key: keys/db.key, cert: keys/db.pem }\n').config;
    expect(signed.signing).toEqual({ key: 'keys/db.key', cert: 'keys/db.pem' });
    expect(buildIdOf({ ...base, config: signed })).toBe(buildIdOf(base));
  });
});
