import type { UserConfig } from './schema.js';

/**
 * Identity function that exists for type inference in `kiln.config.ts`:
 * ```ts
 * import { defineConfig } from 'kiln';
 * export default defineConfig({ name: 'gateway', kernel: { modules: ['virtio_blk'] } });
 * ```
 */
export function defineConfig(config: UserConfig): UserConfig {
  return config;
}
