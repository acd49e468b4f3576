import { describe, expect, it } from 'vitest';
import { parseBootConfig } from './boot-config.ts';

const valid = {
  name: 'demo',
  hostname: 'demo-1',
  kilnVersion: '0.1.0',
  version: '1.2.0',
  buildId: 'abc',
  arch: 'x86_64',
  modules: [{ name: 'evdev', path: '/lib/modules/6.1.0/kernel/drivers/input/evdev.ko' }],
};

describe('parseBootConfig', () => {
  it('accepts what the build writes', () => {
    expect(parseBootConfig(JSON.stringify(valid))).toEqual({ ...valid, debug: false });
  });
  it('reads an image from before versions as 0.0.0, which every versioned update is newer than', () => {
    const { version: _, ...old } = valid;
    expect(parseBootConfig(JSON.stringify(old)).version).toBe('0.0.0');
  });
  it('names the key path of a wrong shape', () => {
    expect(() => parseBootConfig(JSON.stringify({ ...valid, modules: [{ name: 'x' }] }))).toThrow('/etc/kiln/boot.json: modules[0].path must be a string');
    expect(() => parseBootConfig(JSON.stringify({ ...valid, arch: 'riscv64' }))).toThrow('/etc/kiln/boot.json: arch must be x86_64 or aarch64');
    expect(() => parseBootConfig('[]')).toThrow('/etc/kiln/boot.json: must be an object');
  });
  it("takes the status endpoint's port, and refuses one that is not a port", () => {
    expect(parseBootConfig(JSON.stringify({ ...valid, statusPort: 8080 })).statusPort).toBe(8080);
    expect(parseBootConfig(JSON.stringify(valid)).statusPort).toBeUndefined();
    expect(() => parseBootConfig(JSON.stringify({ ...valid, statusPort: '8080' }))).toThrow(
      new TypeError('/etc/kiln/boot.json: statusPort must be a port number (1-65535)'),
    );
    expect(() => parseBootConfig(JSON.stringify({ ...valid, statusPort: 0 }))).toThrow('statusPort must be a port number');
  });
  it('rejects bad JSON', () => {
    expect(() => parseBootConfig('{')).toThrow(SyntaxError);
  });
});
