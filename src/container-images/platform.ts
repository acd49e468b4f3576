/**
 * Choosing the manifest for kiln's target architecture from an image index, and checking an image config's
 * platform. Pure. Names follow Go's GOARCH, as OCI does: x86_64 is amd64, aarch64 is arm64 (variant v8 or none).
 */
import type { Descriptor, Platform } from './manifest.js';

import { ARCH_TABLE, type Arch } from '../config/arch.js';

export type { Arch };

/** True when a platform runs on the target: linux, the right architecture, and for arm64 no variant or v8. */
export function platformMatches(platform: Platform, arch: Arch): boolean {
  if (platform.os !== 'linux' || platform.architecture !== ARCH_TABLE[arch].goarch) return false;
  return arch !== 'aarch64' || platform.variant === undefined || platform.variant === 'v8';
}

/** "linux/arm64/v8" */
export function formatPlatform(platform: Platform | undefined): string {
  if (!platform) return 'unknown';
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
}

/** The index's entry for the target, or undefined. Entries without a platform (attestations) never match. */
export function selectPlatform(manifests: readonly Descriptor[], arch: Arch): Descriptor | undefined {
  return manifests.find((m) => m.platform !== undefined && platformMatches(m.platform, arch));
}

/** The platforms an index offers, for an error message: "linux/amd64, linux/arm/v7". */
export function listPlatforms(manifests: readonly Descriptor[]): string {
  const names = [...new Set(manifests.filter((m) => m.platform && m.platform.os !== 'unknown').map((m) => formatPlatform(m.platform)))];
  return names.length ? names.join(', ') : 'none';
}

/** The OCI name of a kiln architecture: "amd64" or "arm64". */
export function goArch(arch: Arch): string {
  return ARCH_TABLE[arch].goarch;
}
