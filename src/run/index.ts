/** Booting a built image in QEMU: the engine behind `kiln run`. */
export { runImage } from './run.js';
export type { AccelMode, DataDrive, RunOptions, RunOutcome, RunResult } from './options.js';
export type { Arch } from './arch.js';
export { EXIT_CODES, EXIT_CODE_HELP, exitCodeFor, type ExitCodeRow } from './exit-codes.js';
export { accelCacheFile } from './accel-cache.js';
