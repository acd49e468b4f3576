import { describe, expect, test } from 'vitest';
import { ConfigError } from './errors.js';
import { jsonSchema } from './json-schema.js';
import { validateYaml } from './load.js';
import { configArches } from './schema.js';

function problem(text: string): string {
  try {
    validateYaml('kiln.yml', text);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('arch: one architecture or a list of them', () => {
  test('a single name, a list, and the default', () => {
    expect(configArches(validateYaml('kiln.yml', 'name: x\n'))).toEqual(['x86_64']);
    expect(configArches(validateYaml('kiln.yml', 'name: x\narch: aarch64\n'))).toEqual(['aarch64']);
    expect(configArches(validateYaml('kiln.yml', 'name: x\narch: [aarch64, x86_64]\n'))).toEqual(['aarch64', 'x86_64']);
    expect(validateYaml('kiln.yml', 'name: x\narch: [x86_64]\n').arch).toEqual(['x86_64']);
  });

  test('an architecture kiln does not know, alone or in a list, is named where it is', () => {
    expect(problem('name: x\narch: arm64\n')).toBe('kiln.yml:2:7: arch: expected one of "x86_64", "aarch64", found "arm64"');
    expect(problem('name: x\narch: [x86_64, riscv64]\n')).toBe('kiln.yml:2:16: arch[1]: expected one of "x86_64", "aarch64", found "riscv64"');
    expect(problem('name: x\narch:\n  - aarch64\n  - amd64\n')).toBe('kiln.yml:4:5: arch[1]: expected one of "x86_64", "aarch64", found "amd64"');
    expect(problem('name: x\narch: 64\n')).toBe('kiln.yml:2:7: arch: expected one of "x86_64", "aarch64", found number 64');
  });

  test('an empty list and a repeated architecture', () => {
    expect(problem('name: x\narch: []\n')).toBe('kiln.yml:2:7: arch: expected at least 1 items, found a list');
    expect(problem('name: x\narch: [x86_64, aarch64, x86_64]\n')).toBe('kiln.yml:2:25: arch[2]: expected each architecture once; "x86_64" is already arch[0]');
  });

  test('the JSON Schema says the same for editors', () => {
    const arch = (jsonSchema() as { properties: { arch: unknown } }).properties.arch;
    expect(arch).toMatchObject({
      default: 'x86_64',
      anyOf: [
        { type: 'string', enum: ['x86_64', 'aarch64'] },
        { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', enum: ['x86_64', 'aarch64'] } },
      ],
    });
  });
});
