import { moduleName } from './name.js';

/**
 * Parses `modules.builtin` (one `kernel/…/x.ko` path per line, modules compiled into the kernel image) into module
 * names, so a request for one of them is satisfied without loading anything.
 *
 * @example
 * parseModulesBuiltin('kernel/lib/crc32.ko\nkernel/arch/x86/events/amd/amd-uncore.ko\n');
 * // Set { 'crc32', 'amd_uncore' }
 */
export function parseModulesBuiltin(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const path = line.trim();
    if (path !== '') names.add(moduleName(path));
  }
  return names;
}
