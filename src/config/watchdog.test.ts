import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseBootConfig } from '../../device/contract/boot-config.ts';
import { bootConfigJson, bootConfigOf } from '../pipeline/steps/boot-config.js';
import { validateYaml } from './load.js';
import { resolveLoaded } from './resolve.js';

function error(yaml: string): string {
  try {
    validateYaml('kiln.yml', yaml);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected a validation error');
}

describe('watchdog in the config', () => {
  test('an empty section gets every default, once, on the host; boot.json carries it to the init as it is', () => {
    const config = validateYaml('kiln.yml', 'name: wd\nwatchdog: {}\n');
    expect(config.watchdog).toEqual({ module: 'i6300esb', device: '/dev/watchdog', timeoutSeconds: 30 });
    const file = path.resolve('/configs/wd/kiln.yml');
    const boot = bootConfigOf(resolveLoaded({ file, dir: path.dirname(file), config }, '/configs'), {
      buildId: 'b1',
      arch: 'x86_64',
      modules: [],
      programs: [],
      containerDigests: [],
    });
    expect(parseBootConfig(bootConfigJson(boot)).watchdog).toEqual({ module: 'i6300esb', device: '/dev/watchdog', timeoutSeconds: 30 });
  });

  test('absent: no watchdog', () => {
    expect(validateYaml('kiln.yml', 'name: wd\n').watchdog).toBeUndefined();
  });

  test('a timeout outside 5-600 s, a device outside /dev, a bad module name: each named with its line', () => {
    expect(error('name: wd\nwatchdog: { timeoutSeconds: 2 }\n')).toBe('kiln.yml:2:29: watchdog.timeoutSeconds: expected at least 5, found number 2');
    expect(error('name: wd\nwatchdog: { timeoutSeconds: 3600 }\n')).toBe('kiln.yml:2:29: watchdog.timeoutSeconds: expected at most 600, found number 3600');
    expect(error('name: wd\nwatchdog: { device: watchdog0 }\n')).toBe(
      'kiln.yml:2:21: watchdog.device: expected a device node like "/dev/watchdog", found "watchdog0"',
    );
    expect(error('name: wd\nwatchdog: { module: "iTCO wdt" }\n')).toBe(
      'kiln.yml:2:21: watchdog.module: expected a kernel module name like "i6300esb", found "iTCO wdt"',
    );
  });

  test('an unknown key is an error, not ignored', () => {
    expect(error('name: wd\nwatchdog: { timeout: 30 }\n')).toMatch(/^kiln\.yml:2:13: watchdog\.timeout: /);
  });
});
