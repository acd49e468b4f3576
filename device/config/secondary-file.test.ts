import { describe, expect, it } from 'vitest';
import { createLog } from '../base/log.ts';
import { fakeDataFs } from '../testing/fake-data-fs.ts';
import { defaultSecondaryText, loadSecondary } from './secondary-file.ts';
import { validateSecondary } from '../contract/config/validate-secondary.ts';

const PATH = '/data/kiln/secondary.yml';
const GOOD = `${PATH}.last-good`;
const fallback = { hostname: 'gw-default', sysctl: { 'vm.swappiness': 10 } };

function setup(files: Record<string, string> = {}) {
  const data = fakeDataFs(files);
  let console = '';
  const log = createLog((text) => (console += text));
  const load = (notPersistent?: string) => loadSecondary({ data, log, tag: 'secondary' }, PATH, 'gw', fallback, notPersistent);
  return { data, load, console: () => console };
}

describe('the secondary file at boot', () => {
  it('first boot: writes the default there (atomically) and uses it', () => {
    const { data, load, console } = setup();
    expect(load()).toEqual({ secondary: fallback, source: 'first boot' });
    expect(data.events).toEqual([`replace ${PATH}`]);
    const written = data.files.get(PATH)!;
    expect(written).toBe(defaultSecondaryText('gw', fallback));
    expect(written).toMatch(/^# Secondary config of gw: .*\n# It may set: hostname, network, time, sysctl, log, api, containers, registries, update\. /);
    // What it writes is valid, and says the same as the default.
    expect(validateSecondary(PATH, written)).toEqual({ ok: true, secondary: fallback });
    expect(console()).toBe('');
  });

  it('an empty default writes only the header', () => {
    expect(validateSecondary(PATH, defaultSecondaryText('gw', {}))).toEqual({ ok: true, secondary: {} });
  });

  it('later boots: reads it, and keeps it as the last known good copy (written only when it changed)', () => {
    const { data, load } = setup({ [PATH]: 'hostname: gw-7\n' });
    expect(load()).toEqual({ secondary: { hostname: 'gw-7' }, source: 'file' });
    expect(data.files.get(GOOD)).toBe('hostname: gw-7\n');
    data.events.length = 0;
    load();
    expect(data.events).toEqual([]);
  });

  it('invalid: prints every problem, the last saying that the last known good copy is used', () => {
    const { load, console } = setup({ [PATH]: 'hostname: gw_7\nstorage: {}\n', [GOOD]: 'hostname: gw-6\n' });
    expect(load()).toEqual({ secondary: { hostname: 'gw-6' }, source: 'last known good' });
    expect(console()).toBe(
      `kiln: secondary: ${PATH}:2:1: storage: "storage" may only be set in the primary config (the secondary may set: hostname, network, time, sysctl, log, api, containers, registries, update)\n` +
        `kiln: secondary: ${PATH}:1:11: hostname: expected a hostname of letters, digits and "-" (at most 63), found "gw_7"; using the last known good copy ${GOOD}\n`,
    );
  });

  it('invalid and no last known good copy: the default', () => {
    const { data, load, console } = setup({ [PATH]: 'log: {level: loud}\n' });
    expect(load()).toEqual({ secondary: fallback, source: 'default' });
    expect(console()).toBe(
      `kiln: secondary: ${PATH}:1:14: log.level: expected one of "debug", "info", "warn", "error", found "loud"; using the default from the firmware (no last known good copy)\n`,
    );
    // The operator's file is left as it is, to be fixed.
    expect(data.files.get(PATH)).toBe('log: {level: loud}\n');
  });

  it('invalid, and the last known good copy too: the default', () => {
    const { load, console } = setup({ [PATH]: 'hostname: [\n', [GOOD]: 'name: x\n' });
    expect(load().source).toBe('default');
    expect(console()).toMatch(/; using the default from the firmware \(the last known good copy .*\.last-good is unusable too\)\n$/);
  });

  it('a read-only partition on first boot: says so, uses the default', () => {
    const { data, load, console } = setup();
    data.fail('write', '/data', 'EROFS');
    expect(load()).toEqual({ secondary: fallback, source: 'default' });
    expect(console()).toMatch(
      /^kiln: secondary: cannot write the default to \/data\/kiln\/secondary\.yml: EROFS: read-only file system, .*; using the default from the firmware\n$/,
    );
  });

  it('a read-only partition with a valid file: uses it, says the copy could not be saved', () => {
    const { data, load, console } = setup({ [PATH]: 'hostname: gw-7\n' });
    data.fail('write', '/data', 'EROFS');
    expect(load()).toEqual({ secondary: { hostname: 'gw-7' }, source: 'file' });
    expect(console()).toMatch(/^kiln: secondary: cannot save the last known good copy \/data\/kiln\/secondary\.yml\.last-good: EROFS: /);
  });

  it('an unreadable file: the last known good copy', () => {
    const { data, load, console } = setup({ [PATH]: 'hostname: gw-7\n', [GOOD]: 'hostname: gw-6\n' });
    data.fail('read', PATH, 'EIO');
    expect(load().source).toBe('last known good');
    expect(console()).toMatch(/^kiln: secondary: cannot read \/data\/kiln\/secondary\.yml: EIO: i\/o error, open .*; using the last known good copy /);
  });

  it('not on a partition (nothing mounted above it): the default, without touching the folder', () => {
    const { data, load, console } = setup();
    expect(load('partition DATA is not mounted at /data')).toEqual({ secondary: fallback, source: 'default' });
    expect(data.events).toEqual([]);
    expect(console()).toBe(`kiln: secondary: ${PATH}: partition DATA is not mounted at /data; using the default from the firmware\n`);
  });
});
