import { describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.js';
import { watchdogModules } from './watchdog-modules.js';

const parse = (extra: object) => configSchema.parse({ name: 'wd', ...extra });

describe('watchdogModules', () => {
  it("ships QEMU's i6300esb when the section names no driver", () => {
    expect(watchdogModules(parse({ watchdog: {} }))).toEqual(['i6300esb']);
  });
  it("ships the section's own driver", () => {
    expect(watchdogModules(parse({ watchdog: { module: 'iTCO_wdt', timeoutSeconds: 60 } }))).toEqual(['iTCO_wdt']);
  });
  it('ships nothing without a watchdog section', () => {
    expect(watchdogModules(parse({}))).toEqual([]);
  });
});
