/**
 * The network interfaces the kernel has (/sys/class/net) and which configured interface is which: by name, by MAC
 * address, or by both (then both must agree). Pure over `HostFs`.
 */
import type { Network } from '../contract/config/secondary-schema.ts';
import type { HostFs } from '../sys/host-fs.ts';

export type InterfaceConfig = Network['interfaces'][number];

export interface PresentInterface {
  name: string;
  index: number;
  /** Lower case, "52:54:00:12:34:56". */
  mac: string;
}

const SYS_NET = '/sys/class/net';

export function listInterfaces(fs: HostFs): PresentInterface[] {
  let names: string[];
  try {
    names = fs.list(SYS_NET);
  } catch {
    return [];
  }
  const present: PresentInterface[] = [];
  for (const name of names.sort()) {
    try {
      const index = Number(fs.readText(`${SYS_NET}/${name}/ifindex`).trim());
      const mac = fs.readText(`${SYS_NET}/${name}/address`).trim().toLowerCase();
      if (Number.isInteger(index) && index > 0) present.push({ name, index, mac });
    } catch {
      // Gone between the listing and the read: it is not there.
    }
  }
  return present;
}

/**
 * Whether the link has a carrier: true, false, or undefined when the kernel cannot say (the file reads EINVAL
 * while the interface is administratively down).
 */
export function readCarrier(fs: HostFs, name: string): boolean | undefined {
  try {
    const text = fs.readText(`${SYS_NET}/${name}/carrier`).trim();
    return text === '1' ? true : text === '0' ? false : undefined;
  } catch {
    return undefined;
  }
}

/** How a configured interface is named in messages: "eth0", "52:54:00:12:34:56" or "eth0 (52:54:00:12:34:56)". */
export function describeInterfaceConfig(config: InterfaceConfig): string {
  if (config.name !== undefined && config.mac !== undefined) return `${config.name} (${config.mac.toLowerCase()})`;
  return config.name ?? config.mac!.toLowerCase();
}

export function matches(config: InterfaceConfig, iface: PresentInterface): boolean {
  if (config.name !== undefined && config.name !== iface.name) return false;
  if (config.mac !== undefined && config.mac.toLowerCase() !== iface.mac) return false;
  return true;
}

export interface Match {
  config: InterfaceConfig;
  iface: PresentInterface;
}

export interface MatchResult {
  matched: Match[];
  /** Configured interfaces the kernel does not have (yet). */
  missing: InterfaceConfig[];
  /** Configured interfaces that name an interface an earlier entry already took: ignored. */
  duplicates: Match[];
}

/** Pairs each configured interface with the present one it names; the first entry naming an interface wins. */
export function matchInterfaces(configs: readonly InterfaceConfig[], present: readonly PresentInterface[]): MatchResult {
  const result: MatchResult = { matched: [], missing: [], duplicates: [] };
  const taken = new Set<string>();
  for (const config of configs) {
    const iface = present.find((p) => matches(config, p));
    if (iface === undefined) result.missing.push(config);
    else if (taken.has(iface.name)) result.duplicates.push({ config, iface });
    else {
      taken.add(iface.name);
      result.matched.push({ config, iface });
    }
  }
  return result;
}
