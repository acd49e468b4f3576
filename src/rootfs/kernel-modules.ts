/**
 * The kernel modules the config names, with their dependency closure, read from the unpacked kernel package:
 * each module's `.modinfo` gives its `depends=` (Debian ships no modules.dep; depmod runs at install time).
 * The device gets only these modules and a modules.dep for just them.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { decodeElf, decodeModinfo, sectionBytes } from '../formats/elf/index.js';
import { dependsFromModinfo, encodeModulesDep, moduleName, parseModulesBuiltin, resolveModules } from '../formats/modules/index.js';
import type { Arch } from '../config/schema.js';
import { KilnError } from '../util/errors.js';

/**
 * Shipped whenever the kernel has them (as modules or built in; a base module the kernel lacks is skipped, not an
 * error): the power button and the input events it arrives through, for a clean shutdown. On UEFI both
 * architectures get the ACPI button (PNP0C0C; on QEMU's arm `virt` machine signalled through its PL061 GPIO).
 */
export const BASE_MODULES: Readonly<Record<Arch, readonly string[]>> = {
  x86_64: ['button', 'evdev'],
  aarch64: ['button', 'evdev'],
};

export interface KernelTree {
  /** Kernel release, e.g. 6.1.0-56-rt-amd64. */
  release: string;
  vmlinuz: string;
  modulesDir: string;
}

export async function findKernel(tree: string, packageName: string): Promise<KernelTree> {
  const boot = path.join(tree, 'boot');
  const images = (await readdir(boot).catch(() => [] as string[])).filter((f) => /^vmlinu[xz]-/.test(f));
  if (images.length !== 1) {
    throw new KilnError('KERNEL_LAYOUT', `${packageName}: expected one /boot/vmlinuz-* in the package, found ${images.length}`, {
      hint: 'kernel.package must name a Debian kernel image package such as linux-image-rt-amd64.',
    });
  }
  const release = images[0]!.replace(/^vmlinu[xz]-/, '');
  return { release, vmlinuz: path.join(boot, images[0]!), modulesDir: path.join(tree, 'lib', 'modules', release) };
}

export interface ShippedModules {
  /** In load order, dependencies first; paths relative to /lib/modules/<release>. */
  order: { name: string; path: string; source: string }[];
  builtin: string[];
  modulesDep: string;
}

export async function selectModules(kernel: KernelTree, requested: readonly string[], packageName: string, arch: Arch = 'x86_64'): Promise<ShippedModules> {
  const files = (await readdir(kernel.modulesDir, { recursive: true })).filter((f) => /\.ko(\.xz|\.zst)?$/.test(f));
  const byName = new Map(files.map((f) => [moduleName(f), f]));
  const builtinText = await readFile(path.join(kernel.modulesDir, 'modules.builtin'), 'utf8').catch(() => '');
  const builtin = parseModulesBuiltin(builtinText);
  const base = BASE_MODULES[arch].filter((n) => byName.has(n) || builtin.has(n));
  const dependsCache = new Map<string, string[]>();
  const readDepends = (rel: string): string[] => dependsCache.get(rel) ?? [];
  // resolveModules is synchronous and pure: pre-read .modinfo of every module reachable from the request.
  const pending = [...new Set([...base, ...requested])].map((n) => byName.get(n.replace(/-/g, '_'))).filter((p): p is string => !!p);
  while (pending.length > 0) {
    const rel = pending.pop()!;
    if (dependsCache.has(rel)) continue;
    const bytes = await readFile(path.join(kernel.modulesDir, rel));
    const elf = decodeElf(bytes);
    const info = sectionBytes(bytes, elf, '.modinfo');
    const deps = info ? dependsFromModinfo(decodeModinfo(info)) : [];
    dependsCache.set(rel, deps);
    for (const d of deps) {
      // depends= names files as written (crc-t10dif); the map is keyed by module name (crc_t10dif).
      const p = byName.get(moduleName(d));
      if (p && !dependsCache.has(p)) pending.push(p);
    }
  }
  const result = resolveModules([...new Set([...base, ...requested])], {
    pathOf: (name) => byName.get(name.replace(/-/g, '_')),
    dependsOf: readDepends,
    isBuiltin: (name) => builtin.has(name.replace(/-/g, '_')),
  });
  if (result.missing.length > 0) {
    throw new KilnError('MODULE_UNKNOWN', `kernel.modules: ${result.missing.map((m) => `"${m}"`).join(', ')} not found in ${packageName} (${kernel.release})`, {
      hint: `Module names are file names without .ko, e.g. virtio_blk; list them with: find /lib/modules/${kernel.release} -name '*.ko'`,
    });
  }
  const deps = new Map<string, string[]>();
  for (const m of result.order)
    deps.set(
      m.path,
      readDepends(m.path)
        .map((d) => byName.get(moduleName(d))!)
        .filter(Boolean),
    );
  return {
    order: result.order.map((m) => ({ ...m, source: path.join(kernel.modulesDir, m.path) })),
    builtin: result.builtin,
    modulesDep: encodeModulesDep(deps),
  };
}
