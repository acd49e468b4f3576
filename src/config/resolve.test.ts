import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateYaml } from './load.js';
import { resolveLoaded } from './resolve.js';

const loaded = (yaml: string) => ({ file: '/w/cfg/kiln.yml', dir: '/w/cfg', config: validateYaml('kiln.yml', yaml) });

describe('resolveLoaded', () => {
  it('fills the hostname, the architectures and the display name once', () => {
    const r = resolveLoaded(loaded('name: edge\narch: [aarch64, x86_64]\n'), '/w');
    expect(r.hostname).toBe('edge');
    expect(r.arches).toEqual(['aarch64', 'x86_64']);
    expect(r.displayName).toBe(path.join('cfg', 'kiln.yml'));
    expect(resolveLoaded(loaded('name: edge\nhostname: gw-1\n')).hostname).toBe('gw-1');
    expect(resolveLoaded(loaded('name: edge\n')).arches).toEqual(['x86_64']);
  });

  it('is frozen all the way down: no step can change what the next one reads', () => {
    const r = resolveLoaded(loaded('name: edge\nkernel: { modules: [virtio_blk] }\n'));
    expect(Object.isFrozen(r)).toBe(true);
    expect(() => (r.config.kernel.modules as string[]).push('e1000e')).toThrow(TypeError);
    expect(() => ((r.config as { name: string }).name = 'x')).toThrow(TypeError);
  });
});
