/**
 * Load the kernel modules boot.json names, in its order (the build resolved dependencies, so no modprobe logic
 * here). finit_module(2) takes an open file, so the init never reads a module into JS memory.
 *
 * A module that fails does not stop the boot: the device may still be usable and the log says what is missing.
 */
import type { BootModule } from '../contract/boot-config.ts';
import type { HostFs } from '../sys/host-fs.ts';
import { MODULE_INIT_COMPRESSED_FILE, SyscallError, type Libc } from '../sys/libc.ts';
import { errorMessage } from '../contract/error-message.ts';

export type ModuleStatus = 'loaded' | 'already-loaded' | 'failed';

export interface ModuleOutcome {
  name: string;
  status: ModuleStatus;
  /** Why it failed: errno text and name, e.g. "Unknown symbol in module (ENOENT)". */
  error?: string;
}

/** The kernel decompresses these itself when asked by flag; Debian bookworm ships plain `.ko`. */
function finitFlags(path: string): number {
  return /\.ko\.(xz|zst|gz)$/.test(path) ? MODULE_INIT_COMPRESSED_FILE : 0;
}

function describe(error: unknown): string {
  if (error instanceof SyscallError) return error.message.slice(error.call.length + 2);
  return errorMessage(error);
}

export function loadModule(libc: Libc, fs: HostFs, module: BootModule): ModuleOutcome {
  let fd: number;
  try {
    fd = fs.openRead(module.path);
  } catch (error) {
    return { name: module.name, status: 'failed', error: describe(error) };
  }
  try {
    libc.finitModule(fd, module.path, '', finitFlags(module.path));
    return { name: module.name, status: 'loaded' };
  } catch (error) {
    // Built into the kernel or loaded before (e.g. by a dependency list that names it twice): nothing to do.
    if (error instanceof SyscallError && error.code === 'EEXIST') return { name: module.name, status: 'already-loaded' };
    return { name: module.name, status: 'failed', error: describe(error) };
  } finally {
    fs.close(fd);
  }
}

/** Load every module in order; one failure does not stop the rest (a later one may not depend on it). */
export function loadModules(libc: Libc, fs: HostFs, modules: readonly BootModule[]): ModuleOutcome[] {
  return modules.map((module) => loadModule(libc, fs, module));
}

/** One line for the stage log, e.g. "5 loaded, 1 already loaded, 1 failed (virtio_net)". */
export function summarizeModules(outcomes: readonly ModuleOutcome[]): string {
  const count = (status: ModuleStatus) => outcomes.filter((outcome) => outcome.status === status).length;
  const failed = outcomes.filter((outcome) => outcome.status === 'failed').map((outcome) => outcome.name);
  const parts = [`${count('loaded')} loaded`];
  if (count('already-loaded') > 0) parts.push(`${count('already-loaded')} already loaded`);
  if (failed.length > 0) parts.push(`${failed.length} failed (${failed.join(', ')})`);
  return parts.join(', ');
}
