/**
 * Kernel module metadata, pure (no I/O): module names, modules.dep and modules.builtin, and the load order of a
 * set of modules. Debian's kernel package ships no modules.dep (depmod runs at install time), so kiln reads each
 * module's `.modinfo` `depends=` (see ../elf) and resolves the closure itself.
 */
export { moduleName } from './name.js';
export { encodeModulesDep, parseModulesDep } from './modules-dep.js';
export { parseModulesBuiltin } from './builtin.js';
export { dependsFromModinfo } from './depends.js';
export { ModuleCycleError, resolveModules, type ModuleLookup, type ResolvedModules } from './resolve.js';
