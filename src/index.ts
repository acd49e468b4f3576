/** kiln's programmatic API: the typed config helper and the build/disk/run engines. */
export { defineConfig } from './config/define.js';
export type { UserConfig, Config, Profile } from './config/schema.js';
export { loadConfig } from './config/load.js';
// build() and buildAll() take a resolved config: `build({ resolved: await resolveConfig('kiln.yml'), … })`.
export { resolveConfig, type ResolvedConfig } from './config/resolve.js';
export { build, buildAll, type BuildOptions, type BuildResult } from './pipeline/build.js';
export { makeDisk, type DiskOptions, type DiskResult } from './disk/index.js';
export { runImage } from './run/index.js';
