import { describe, expect, it } from 'vitest';
import { validateSecondary } from './validate-secondary.ts';

const FILE = '/data/kiln/secondary.yml';

function problems(text: string): string[] {
  const result = validateSecondary(FILE, text);
  if (result.ok) throw new Error('expected problems');
  return result.problems;
}

describe('validateSecondary', () => {
  it('returns the settings, with defaults filled in', () => {
    const result = validateSecondary(FILE, 'hostname: gw-7\nsysctl:\n  vm.swappiness: 10\nlog: {}\n');
    expect(result).toEqual({ ok: true, secondary: { hostname: 'gw-7', sysctl: { 'vm.swappiness': 10 }, log: { level: 'info' } } });
  });

  it('accepts an empty file (it sets nothing)', () => {
    expect(validateSecondary(FILE, '# nothing yet\n')).toEqual({ ok: true, secondary: {} });
  });

  it('names file:line:col, the key path, what was expected and what was found', () => {
    expect(problems('log:\n  level: loud\n')).toEqual([`${FILE}:2:10: log.level: expected one of "debug", "info", "warn", "error", found "loud"`]);
    expect(problems('network:\n  interfaces:\n    - name: eth0\n      dhcp: yes please\n')).toEqual([
      `${FILE}:4:13: network.interfaces[0].dhcp: expected a boolean, found "yes please"`,
    ]);
    expect(problems('hostname: bad_name\n')).toEqual([`${FILE}:1:11: hostname: expected a hostname of letters, digits and "-" (at most 63), found "bad_name"`]);
  });

  it('rejects a key only the primary config may set, saying which keys the secondary may set', () => {
    expect(problems('hostname: gw\nstorage:\n  partitions: []\n')).toEqual([
      `${FILE}:2:1: storage: "storage" may only be set in the primary config (the secondary may set: hostname, network, time, sysctl, log, api, containers, registries, update)`,
    ]);
  });

  it('suggests the key meant for a misspelling, and lists every problem', () => {
    expect(problems('hostnme: gw\nlog:\n  level: 3\n')).toEqual([
      `${FILE}:1:1: hostnme: unknown key "hostnme" (did you mean "hostname"?); expected one of "hostname", "network", "time", "sysctl", "log", "api", "containers", "registries", "update"`,
      `${FILE}:3:10: log.level: expected one of "debug", "info", "warn", "error", found number 3`,
    ]);
  });

  it('update: the firmware source with the interval defaulted; each wrong field named where it is', () => {
    expect(validateSecondary(FILE, 'update:\n  source: registry.example/fleet/gw:stable\n')).toEqual({
      ok: true,
      secondary: { update: { source: 'registry.example/fleet/gw:stable', interval: 3600 } },
    });
    expect(problems('update:\n  source: fleet/gw\n  interval: 10\n  window: { start: "25:00", end: "02:00" }\n')).toEqual([
      `${FILE}:2:11: update.source: expected REGISTRY/REPOSITORY:TAG as \`kiln push --to\` writes it, found "fleet/gw" (no registry host: kiln does not guess docker.io: write the registry, e.g. docker.io/fleet/gw)`,
      `${FILE}:3:13: update.interval: expected at least 30, found number 10`,
      `${FILE}:4:20: update.window.start: expected a UTC time of day "HH:MM", like "02:30", found "25:00"`,
    ]);
    expect(problems('update:\n  source: oci:images\n  window: { start: "02:00", end: "02:00" }\n')).toEqual([
      `${FILE}:2:11: update.source: expected REGISTRY/REPOSITORY:TAG as \`kiln push --to\` writes it, found "oci:images" (oci: names files on a host; the device pulls from a registry)`,
      `${FILE}:3:11: update.window: expected start and end to differ (that window would never open)`,
    ]);
    expect(problems('update:\n  source: r.example/a:b\n  every: 60\n')).toEqual([
      `${FILE}:3:3: update.every: unknown key "every"; expected one of "source", "interval", "window"`,
    ]);
  });

  it('reports bad YAML and a document that is not a mapping', () => {
    expect(problems('hostname: gw\nhostname: gw2\n')).toEqual([`${FILE}:2:1: invalid YAML: Map keys must be unique`]);
    expect(problems('- hostname\n')).toEqual([`${FILE}:1:1: expected a mapping, found a list`]);
  });
});
