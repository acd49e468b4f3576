/**
 * Build step: the boot contract (/etc/kiln/boot.json) from the resolved config and what the earlier steps made.
 * The device-side sections are copied by the contract's own key list (DEVICE_SECTIONS), so a new device key needs
 * no change here; the result is read back with the init's own parser before it is written, so the build never ships
 * a boot.json the device would refuse.
 */
import { DEVICE_SECTIONS, parseBootConfig, type BootConfig, type BootModule, type DeviceSections } from '../../../device/contract/boot-config.ts';
import type { BootProgram } from '../../../device/contract/programs/boot-programs.ts';
import type { Arch } from '../../config/schema.js';
import type { ResolvedConfig } from '../../config/resolve.js';
import { KILN_VERSION } from '../../version.js';
import { UPDATE_PUBLIC_KEY_PATH } from '../../../device/contract/config/update-schema.ts';

export interface BootConfigParts {
  buildId: string;
  arch: Arch;
  /** In load order, with their paths inside the initramfs. */
  modules: BootModule[];
  programs: BootProgram[];
  /** The manifest digest kiln.lock pins for each of the config's containers, in the config's order. */
  containerDigests: readonly string[];
}

export function bootConfigOf(resolved: ResolvedConfig, parts: BootConfigParts): BootConfig {
  const { config } = resolved;
  if (parts.containerDigests.length !== config.containers.length) {
    throw new TypeError(`bootConfigOf: ${config.containers.length} containers but ${parts.containerDigests.length} pinned digests`);
  }
  const sections: Record<string, unknown> = {};
  for (const key of Object.keys(DEVICE_SECTIONS) as (keyof DeviceSections)[]) sections[key] = config[key];
  const boot: BootConfig = {
    name: config.name,
    hostname: resolved.hostname,
    kilnVersion: KILN_VERSION,
    version: config.version,
    buildId: parts.buildId,
    arch: parts.arch,
    modules: parts.modules,
    ...(sections as unknown as DeviceSections),
    // The key's file is the host's; the device reads the copy the build puts in the image.
    ...(config.update === undefined ? {} : { update: { ...config.update, publicKey: UPDATE_PUBLIC_KEY_PATH } }),
    programs: parts.programs,
    // Each container with the digest kiln.lock pins: the device runs exactly that image from its store.
    ...(config.containers.length > 0
      ? { containers: config.containers.map((c, i) => ({ ...c, digest: parts.containerDigests[i]! })), containerStore: config.containerStore }
      : {}),
  };
  parseBootConfig(bootConfigJson(boot)); // the device's own check, at build time
  return boot;
}

/** The bytes of /etc/kiln/boot.json. */
export function bootConfigJson(boot: BootConfig): string {
  return `${JSON.stringify(boot, null, 2)}\n`;
}
