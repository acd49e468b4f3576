import { describe, expect, test } from 'vitest';
import { SECONDARY_KEYS } from '../../device/contract/config/secondary-schema.ts';
import { PRIMARY_ONLY_KEYS } from '../../device/contract/config/validate-secondary.ts';
import { configSchema } from './schema.js';

describe('the secondary config keys', () => {
  test('every top-level key of the primary is either one the secondary may set or a primary-only one', () => {
    const primary = Object.keys(configSchema.shape)
      .filter((key) => key !== '$schema')
      .sort();
    // `api` (the token) and `registries` (mirrors) exist only in the secondary; `containers` is in both (overrides by name),
    // and so is `update` (the primary's makes a device updatable, the secondary's says where it pulls its firmware from).
    const secondaryOnly = ['api', 'registries'];
    expect([...new Set([...SECONDARY_KEYS, ...PRIMARY_ONLY_KEYS])].filter((k) => !secondaryOnly.includes(k)).sort()).toEqual(primary);
  });
});
