import { describe, expect, it } from 'vitest';
import { parseBootConfig } from '../boot-config.ts';
import { parseBootPrograms, serviceSpecs } from './boot-programs.ts';

const backoff = { initialMs: 1000, maxMs: 60_000, resetAfterMs: 10_000 };

describe('boot.json programs', () => {
  it('reads commands and services; boot.json without programs has none', () => {
    const programs = parseBootPrograms([
      { name: 'greet', command: '/usr/bin/greet', args: [], env: {} },
      { name: 'beat', command: '/usr/bin/beat', args: ['-v'], env: { A: '1' }, service: { restart: 'on-failure', backoff } },
    ]);
    expect(programs[1]).toEqual({ name: 'beat', command: '/usr/bin/beat', args: ['-v'], env: { A: '1' }, service: { restart: 'on-failure', backoff } });
    expect(serviceSpecs(programs).map((s) => [s.name, s.restart, s.env.A, s.env.PATH !== undefined])).toEqual([['beat', 'on-failure', '1', true]]);
    const base = { name: 'd', hostname: 'd', kilnVersion: '0', buildId: 'b', arch: 'x86_64', modules: [] };
    expect(parseBootConfig(JSON.stringify(base)).programs).toBeUndefined();
    expect(parseBootConfig(JSON.stringify({ ...base, programs: [] })).programs).toEqual([]);
  });

  it('names the key path of a wrong shape', () => {
    expect(() => parseBootPrograms({})).toThrow('/etc/kiln/boot.json: programs must be an array');
    expect(() => parseBootPrograms([{ name: 'a', command: 'a' }])).toThrow('/etc/kiln/boot.json: programs[0].command must be an absolute path');
    expect(() => parseBootPrograms([{ name: 'a', command: '/a', service: { restart: 'sometimes', backoff } }])).toThrow(
      'programs[0].service.restart must be always, on-failure, never',
    );
    expect(() => parseBootPrograms([{ name: 'a', command: '/a', service: { restart: 'always', backoff: { ...backoff, maxMs: 'x' } } }])).toThrow(
      'programs[0].service.backoff.maxMs must be a number of milliseconds',
    );
  });
});
