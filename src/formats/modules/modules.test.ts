import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import {
  encodeModulesDep,
  ModuleCycleError,
  moduleName,
  parseModulesBuiltin,
  parseModulesDep,
  resolveModules,
  dependsFromModinfo,
  type ModuleLookup,
} from './index.js';

describe('moduleName', () => {
  test.each([
    ['kernel/drivers/block/virtio_blk.ko', 'virtio_blk'],
    ['kernel/drivers/char/hw_random/virtio-rng.ko', 'virtio_rng'],
    ['kernel/fs/ext4/ext4.ko.xz', 'ext4'],
    ['kernel/drivers/i2c/i2c-smbus.ko.zst', 'i2c_smbus'],
    ['crc32c-intel.ko.gz', 'crc32c_intel'],
    ['virtio-blk', 'virtio_blk'],
    ['kernel/lib/notako.kobj', 'notako.kobj'],
  ])('%s → %s', (path, name) => {
    expect(moduleName(path)).toBe(name);
  });
});

describe('modules.dep', () => {
  const text = [
    'kernel/fs/ext4/ext4.ko: kernel/fs/jbd2/jbd2.ko kernel/fs/mbcache.ko kernel/lib/crc16.ko',
    'kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko',
    'kernel/lib/crc16.ko:',
    '',
  ].join('\n');

  test('parses paths and dependencies in order', () => {
    expect(parseModulesDep(text)).toEqual(
      new Map([
        ['kernel/fs/ext4/ext4.ko', ['kernel/fs/jbd2/jbd2.ko', 'kernel/fs/mbcache.ko', 'kernel/lib/crc16.ko']],
        ['kernel/drivers/block/virtio_blk.ko', ['kernel/drivers/virtio/virtio.ko', 'kernel/drivers/virtio/virtio_ring.ko']],
        ['kernel/lib/crc16.ko', []],
      ]),
    );
  });

  test('encodes the way depmod writes it, sorted by path whatever the insertion order', () => {
    const golden =
      'kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n' +
      'kernel/fs/ext4/ext4.ko: kernel/fs/jbd2/jbd2.ko kernel/fs/mbcache.ko kernel/lib/crc16.ko\n' +
      'kernel/lib/crc16.ko:\n';
    const deps = parseModulesDep(text);
    expect(encodeModulesDep(deps)).toBe(golden);
    expect(encodeModulesDep(new Map([...deps].reverse()))).toBe(golden);
    expect(parseModulesDep(encodeModulesDep(deps))).toEqual(deps);
  });

  test('tolerates CRLF, tabs and repeated spaces', () => {
    expect(parseModulesDep('a.ko:\tb.ko  c.ko\r\n\r\nb.ko:\r\n')).toEqual(
      new Map([
        ['a.ko', ['b.ko', 'c.ko']],
        ['b.ko', []],
      ]),
    );
  });

  test('a line without ":" is an error naming the line and offset', () => {
    expect(() => parseModulesDep('a.ko: b.ko\nkernel/x.ko kernel/y.ko\n')).toThrow("Cannot decode modules.dep line 2 at 0xb: no ':' after the module path");
  });

  test('a module listed twice is an error', () => {
    expect(() => parseModulesDep('a.ko:\na.ko: b.ko\n')).toThrow('Cannot decode modules.dep line 2 at 0x6: second entry for a.ko');
  });

  test('encoding refuses paths the format cannot hold', () => {
    expect(() => encodeModulesDep(new Map([['a b.ko', []]]))).toThrow(RangeError);
    expect(() => encodeModulesDep(new Map([['a.ko', ['c:d.ko']]]))).toThrow('modules.dep path "c:d.ko" must be non-empty');
  });
});

describe('parseModulesBuiltin', () => {
  test('turns paths into module names', () => {
    expect(parseModulesBuiltin('kernel/lib/crc32.ko\nkernel/arch/x86/events/amd/amd-uncore.ko\n\n')).toEqual(new Set(['crc32', 'amd_uncore']));
  });

  const BUILTIN = '/tmp/probe/k/lib/modules/6.1.0-56-rt-amd64/modules.builtin';
  test.skipIf(!existsSync(BUILTIN))("Debian's modules.builtin: one name per line", () => {
    const text = readFileSync(BUILTIN, 'utf8');
    const names = parseModulesBuiltin(text);
    expect(names.size).toBe(text.split('\n').filter((line) => line !== '').length);
    expect(names.has('crc32')).toBe(true);
    expect(names.has('amd_uncore')).toBe(true);
  });
});

describe('dependsFromModinfo', () => {
  test('splits depends= on commas; empty means none', () => {
    expect(dependsFromModinfo(new Map([['depends', ['virtio,virtio_ring']]]))).toEqual(['virtio', 'virtio_ring']);
    expect(dependsFromModinfo(new Map([['depends', ['']]]))).toEqual([]);
    expect(dependsFromModinfo(new Map())).toEqual([]);
  });
});

/** A lookup over an in-memory graph: name → dependencies; modules live at `<name>.ko`. */
function graph(deps: Record<string, string[]>, builtin: string[] = []): ModuleLookup {
  return {
    pathOf: (name) => (name in deps ? `kernel/${name}.ko` : undefined),
    dependsOf: (path) => deps[moduleName(path)],
    isBuiltin: (name) => builtin.includes(name),
  };
}

describe('resolveModules', () => {
  test('closure in load order: every dependency before its users, each module once', () => {
    const lookup = graph({
      ext4: ['jbd2', 'mbcache', 'crc16'],
      jbd2: ['crc16'],
      mbcache: [],
      crc16: [],
      virtio_blk: ['virtio', 'virtio_ring'],
      virtio: ['virtio_ring'],
      virtio_ring: [],
    });
    const { order, builtin, missing } = resolveModules(['ext4', 'virtio_blk', 'jbd2'], lookup);
    expect(order.map((m) => m.name)).toEqual(['crc16', 'jbd2', 'mbcache', 'ext4', 'virtio_ring', 'virtio', 'virtio_blk']);
    expect(order[0]).toEqual({ name: 'crc16', path: 'kernel/crc16.ko' });
    expect(builtin).toEqual([]);
    expect(missing).toEqual([]);
  });

  test("names are normalised ('-' → '_'), in requests and in depends=", () => {
    const lookup = graph({ i2c_i801: ['i2c-smbus'], i2c_smbus: [] });
    expect(resolveModules(['i2c-i801'], lookup).order.map((m) => m.name)).toEqual(['i2c_smbus', 'i2c_i801']);
  });

  test('dependencies given as paths (modules.dep style) resolve too', () => {
    const lookup = graph({ a: ['kernel/b.ko'], b: [] });
    expect(resolveModules(['a'], lookup).order.map((m) => m.path)).toEqual(['kernel/b.ko', 'kernel/a.ko']);
  });

  test('builtin modules are skipped and listed once', () => {
    const lookup = graph({ ext4: ['jbd2', 'crc16'], jbd2: ['crc16'] }, ['crc16', 'ext2']);
    expect(resolveModules(['ext4', 'ext2'], lookup)).toEqual({
      order: [
        { name: 'jbd2', path: 'kernel/jbd2.ko' },
        { name: 'ext4', path: 'kernel/ext4.ko' },
      ],
      builtin: ['crc16', 'ext2'],
      missing: [],
    });
  });

  test('unknown names are collected, not thrown, and the rest still resolves', () => {
    const lookup = graph({ a: ['gone', 'b'], b: ['gone'] });
    expect(resolveModules(['nosuch', 'a', 'nosuch'], lookup)).toEqual({
      order: [
        { name: 'b', path: 'kernel/b.ko' },
        { name: 'a', path: 'kernel/a.ko' },
      ],
      builtin: [],
      missing: ['nosuch', 'gone'],
    });
  });

  test('a dependency cycle is a clear error naming the loop', () => {
    const lookup = graph({ top: ['a'], a: ['b'], b: ['c'], c: ['a'] });
    expect(() => resolveModules(['top'], lookup)).toThrow('Kernel module dependency cycle: a -> b -> c -> a');
    try {
      resolveModules(['top'], lookup);
    } catch (error) {
      expect(error).toBeInstanceOf(ModuleCycleError);
      expect(error).toMatchObject({ code: 'MODULE_CYCLE', cycle: ['a', 'b', 'c', 'a'] });
    }
  });

  test('a module depending on itself is a cycle', () => {
    expect(() => resolveModules(['a'], graph({ a: ['a'] }))).toThrow('Kernel module dependency cycle: a -> a');
  });

  test('nothing requested, nothing loaded', () => {
    expect(resolveModules([], graph({}))).toEqual({ order: [], builtin: [], missing: [] });
  });
});
