/** kiln's programmatic API: the typed config helper and the build/run engines. */
export { defineConfig } from './config/define.js';
export type { UserConfig, Config, Profile } from './config/schema.js';
export { loadConfig } from './config/load.js';
export { build, type BuildOptions, type BuildResult } from './build/build.js';
export { runImage } from './run/index.js';
