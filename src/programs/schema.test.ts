import { describe, expect, it } from 'vitest';
import { validateYaml } from '../config/load.js';
import { reservedCommandReason } from './schema.js';

const config = (programs: string) => `name: t\nprograms:\n${programs}`;
function problem(yaml: string): string {
  try {
    validateYaml('kiln.yml', yaml);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected a config error');
}

describe('programs in the config', () => {
  it('fills the defaults: no service, no args; a service restarts always with the default backoff', () => {
    const c = validateYaml('kiln.yml', config('  - { name: greet, source: g }\n  - { name: beat, source: b, service: {} }\n'));
    expect(c.programs[0]).toEqual({ name: 'greet', source: 'g', args: [], env: {} });
    expect(c.programs[1]!.service).toEqual({ restart: 'always', backoff: { initialMs: 1000, maxMs: 60_000, resetAfterMs: 10_000 } });
  });

  it('rejects names that collide with system or kiln commands, with the position', () => {
    expect(problem(config('  - name: sh\n    source: s\n'))).toBe(
      'kiln.yml:3:11: programs[0].name: "sh" collides with a system command on the device; choose another name',
    );
    expect(problem(config('  - name: kiln-status\n    source: s\n'))).toBe(
      'kiln.yml:3:11: programs[0].name: "kiln-status" collides with kiln\'s own device commands (kiln-*); choose another name',
    );
    expect(reservedCommandReason('node')).toMatch(/system command/);
    expect(reservedCommandReason('greet')).toBeUndefined();
  });

  it('rejects names that are not command names', () => {
    expect(problem(config('  - name: My App\n    source: s\n'))).toMatch(/^kiln\.yml:3:11: programs\[0\]\.name: expected a command name: .*, found "My App"$/);
  });

  it('rejects a name used twice', () => {
    expect(problem(config('  - { name: a, source: x }\n  - { name: a, source: y }\n'))).toMatch(
      /^kiln\.yml:4:\d+: programs\[1\]\.name: "a" is already the name of programs\[0\]; names must be unique$/,
    );
  });

  it('checks the restart policy, the backoff and the entry', () => {
    expect(problem(config('  - { name: a, source: x, service: { restart: sometimes } }\n'))).toMatch(
      /programs\[0\]\.service\.restart: expected one of "always", "on-failure", "never"/,
    );
    expect(problem(config('  - { name: a, source: x, service: { backoff: { initialMs: 5000, maxMs: 1000 } } }\n'))).toMatch(
      /programs\[0\]\.service\.backoff\.maxMs: expected maxMs at least initialMs/,
    );
    expect(problem(config('  - { name: a, source: x, entry: ../main.ts }\n'))).toMatch(
      /programs\[0\]\.entry: expected a \.ts or \.js file inside the source folder/,
    );
  });
});
