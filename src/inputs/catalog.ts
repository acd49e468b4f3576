/**
 * What a device image is made of, per architecture: the Debian packages and npm packages kiln fetches.
 * Each input has a role; the lock keys entries "<arch>/<role>".
 */
import type { Arch, Config } from '../config/schema.js';
import { toolsFor, type ToolRole } from './tools.js';
import { ARCH_TABLE } from '../config/arch.js';

/** Node.js major version run on the device (type stripping without flags). */
export const DEVICE_NODE_MAJOR = 26;
/** koffi release line (libc FFI). */
export const KOFFI_RANGE = '3.3';

/** Inputs of every image. */
export type BaseRole = 'kernel' | 'stub' | 'libc6' | 'libstdc++6' | 'libgcc-s1' | 'libatomic1' | 'node' | 'koffi' | 'koffi-native' | 'zod' | 'yaml';
/** Inputs of every image, and the Debian tools (src/inputs/tools.ts) with their library packages when the config needs them. */
export type Role = BaseRole | ToolRole;

/** Pure-JavaScript npm packages the device code imports (the secondary config: YAML parsed with positions,
 * validated by the same zod schema as on the host). */
export const DEVICE_JS_PACKAGES = [
  { role: 'zod', spec: 'zod@4' },
  { role: 'yaml', spec: 'yaml@2' },
] as const;

export interface InputRequest {
  role: Role;
  type: 'deb' | 'npm';
  /** Debian package name, or npm spec (name@range). `koffi-native` takes koffi's resolved version. */
  request: string;
}

/** Debian packages that provide the shared libraries Node.js and koffi need (the ELF closure picks files). */
export const LIBRARY_PACKAGES = ['libc6', 'libstdc++6', 'libgcc-s1', 'libatomic1'] as const;

export function defaultKernelPackage(arch: Arch): string {
  return `linux-image-rt-${ARCH_TABLE[arch].deb}`;
}

export function inputRequests(config: Config, arch: Arch): InputRequest[] {
  const n = ARCH_TABLE[arch];
  const base: InputRequest[] = [
    { role: 'kernel', type: 'deb', request: config.kernel.package ?? defaultKernelPackage(arch) },
    { role: 'stub', type: 'deb', request: 'systemd-boot-efi' },
    ...LIBRARY_PACKAGES.map((p): InputRequest => ({ role: p, type: 'deb', request: p })),
    { role: 'node', type: 'npm', request: `node-linux-${n.npm}@${DEVICE_NODE_MAJOR}` },
    { role: 'koffi', type: 'npm', request: `koffi@${KOFFI_RANGE}` },
    { role: 'koffi-native', type: 'npm', request: `@koromix/koffi-linux-${n.npm}` },
    ...DEVICE_JS_PACKAGES.map((p): InputRequest => ({ role: p.role, type: 'npm', request: p.spec })),
  ];
  // Each package once, however many tools need it (libc6 is already a base input).
  const roles = new Set<Role>(base.map((r) => r.role));
  const tools: InputRequest[] = [];
  for (const tool of toolsFor(config)) {
    for (const [role, request] of [[tool.role, tool.package], ...tool.libraryPackages.map((p) => [p, p] as const)] as const) {
      if (roles.has(role)) continue;
      roles.add(role);
      tools.push({ role, type: 'deb', request });
    }
  }
  return [...base, ...tools];
}
