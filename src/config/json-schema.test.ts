import { readFile } from 'node:fs/promises';
import { expect, test } from 'vitest';
import { jsonSchema } from './json-schema.js';

test('the shipped schema/kiln.schema.json is the one the zod schema generates', async () => {
  const shipped = JSON.parse(await readFile(new URL('../../schema/kiln.schema.json', import.meta.url), 'utf8'));
  // If this fails: npx kiln config schema --out schema/kiln.schema.json
  expect(shipped).toEqual(jsonSchema());
});

test('the JSON schema rejects unknown keys and knows the fields', () => {
  const s = jsonSchema() as { additionalProperties?: boolean; properties: Record<string, unknown>; required?: string[] };
  expect(s.additionalProperties).toBe(false);
  expect(Object.keys(s.properties)).toEqual([
    '$schema',
    'name',
    'version',
    'arch',
    'layout',
    'hostname',
    'kernel',
    'compression',
    'debug',
    'storage',
    'secondary',
    'network',
    'time',
    'sysctl',
    'log',
    'logs',
    'update',
    'statusPort',
    'apiPort',
    'watchdog',
    'files',
    'programs',
    'containers',
    'containerStore',
    'signing',
  ]);
  expect(s.required).toEqual(['name']);
});
