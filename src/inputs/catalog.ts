/**
 * What a device image is made of, per architecture: the Debian packages and npm packages kiln fetches.
 * Each input has a role; the lock keys entries "<arch>/<role>".
 */
import type { Arch, Config } from '../config/schema.js';
import { toolsFor, type ToolRole } from './tools.js';

export interface ArchNames {
  /** Debian architecture name. */
  deb: 'amd64' | 'arm64';
  /** npm/Node platform suffix. */
  npm: 'x64' | 'arm64';
  /** UEFI removable-media file name and stub. */
  efiName: 'BOOTX64.EFI' | 'BOOTAA64.EFI';
  stub: string;
  /** GNU multiarch triplet: where Debian puts shared libraries. */
  triplet: string;
  /** ELF e_machine and PE machine of the device. */
  elfMachine: number;
  peMachine: number;
  /** The first serial port's console device: the 16550 on PCs, the PL011 on arm (QEMU virt, most boards). */
  serialConsole: 'ttyS0' | 'ttyAMA0';
}

export const ARCH_NAMES: Record<Arch, ArchNames> = {
  x86_64: {
    deb: 'amd64',
    npm: 'x64',
    efiName: 'BOOTX64.EFI',
    stub: 'usr/lib/systemd/boot/efi/linuxx64.efi.stub',
    triplet: 'x86_64-linux-gnu',
    elfMachine: 62,
    peMachine: 0x8664,
    serialConsole: 'ttyS0',
  },
  aarch64: {
    deb: 'arm64',
    npm: 'arm64',
    efiName: 'BOOTAA64.EFI',
    stub: 'usr/lib/systemd/boot/efi/linuxaa64.efi.stub',
    triplet: 'aarch64-linux-gnu',
    elfMachine: 183,
    peMachine: 0xaa64,
    serialConsole: 'ttyAMA0',
  },
};

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
  return `linux-image-rt-${ARCH_NAMES[arch].deb}`;
}

export function inputRequests(config: Config, arch: Arch): InputRequest[] {
  const n = ARCH_NAMES[arch];
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
