/**
 * Kernel modules a device with a network needs without the config naming them: Debian's kernel builds the NIC
 * drivers as modules, and an image with a `network` section but no driver would boot without interfaces.
 * virtio-net covers QEMU (`kiln run`) and most virtual machines; real hardware names its driver (e1000e, igb,
 * r8169, ...) in `kernel.modules` as before.
 */
import type { Config } from '../config/schema.js';

export const NETWORK_MODULES = ['virtio_pci', 'virtio_net'] as const;

/** Whether the device configures a network: in the primary config, or in the secondary's default. */
export function usesNetwork(config: Pick<Config, 'network' | 'secondary'>): boolean {
  return config.network !== undefined || config.secondary?.default.network !== undefined;
}

/** The modules to add to `kernel.modules` for the network (none without one). */
export function networkModules(config: Pick<Config, 'network' | 'secondary'>): string[] {
  return usesNetwork(config) ? [...NETWORK_MODULES] : [];
}
