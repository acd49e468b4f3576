/**
 * /etc/kiln/boot.json: what the build tells the init about this image. Written by kiln's build, so a wrong shape
 * is a kiln bug, reported with the key path rather than tolerated.
 */

import type { Network, Time } from './config/secondary-schema.ts';
import type { DeviceSections } from './device-sections.ts';
import type { ContainerConfig, ContainerOverride } from './config/containers-schema.ts';
import type { UpdatePull } from './config/update-pull-schema.ts';
import { parseBootPrograms, type BootProgram } from './programs/boot-programs.ts';

export const BOOT_CONFIG_PATH = '/etc/kiln/boot.json';

/** The settings the secondary config may change; the primary config gives their defaults. */
export interface DeviceSettings {
  hostname: string;
  network?: Network;
  time?: Time;
  sysctl?: Record<string, string | number | boolean>;
  log?: { level: 'debug' | 'info' | 'warn' | 'error' };
  /** The management API's TCP bearer token (secondary config only). */
  api?: { token: string };
  /** Per-container overrides (secondary config only). */
  containers?: Record<string, ContainerOverride>;
  /** Registry host[:port] → the mirror the device pulls from (secondary config only). */
  registries?: Record<string, { mirror: string }>;
  /** Where the device pulls its firmware from, how often, and when it may reboot into it (secondary config only). */
  update?: UpdatePull;
}

/**
 * The primary config's device-side sections, one entry per key of device-sections.ts (the type checks that both list
 * the same keys), with the JSON shape the init checks it has. Their values were validated by the host's schema.
 */
export const DEVICE_SECTIONS: { readonly [K in keyof DeviceSections]-?: 'flag' | 'object' | 'port' } = {
  debug: 'flag',
  storage: 'object',
  secondary: 'object',
  network: 'object',
  time: 'object',
  sysctl: 'object',
  log: 'object',
  logs: 'object',
  update: 'object',
  statusPort: 'port',
  apiPort: 'port',
  watchdog: 'object',
};

export type { DeviceSections };

/** A container as boot.json carries it: the config's settings and the manifest digest kiln.lock pinned. */
export type BootContainer = ContainerConfig & { digest: string };

export interface BootModule {
  name: string;
  /** Absolute path of the `.ko` file inside the initramfs. */
  path: string;
}

export interface BootConfig extends DeviceSections {
  /** OCI containers the init runs (device/containers), and the folder holding their images: both or neither. */
  containers?: BootContainer[];
  containerStore?: string;
  name: string;
  hostname: string;
  kilnVersion: string;
  /** The config's `version` (dotted numbers). */
  version: string;
  buildId: string;
  arch: 'x86_64' | 'aarch64';
  /** In load order: dependencies first. */
  modules: BootModule[];
  /** The config's programs (commands in PATH); services among them start at boot (device/programs). */
  programs?: BootProgram[];
}

function text(value: unknown, path: string): string {
  if (typeof value !== 'string') throw new TypeError(`${BOOT_CONFIG_PATH}: ${path} must be a string`);
  return value;
}

/** Parse and check boot.json. Throws SyntaxError for bad JSON, TypeError naming the key path for a wrong shape. */
export function parseBootConfig(json: string): BootConfig {
  const raw: unknown = JSON.parse(json);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new TypeError(`${BOOT_CONFIG_PATH}: must be an object`);
  const record = raw as Record<string, unknown>;
  const arch = text(record.arch, 'arch');
  if (arch !== 'x86_64' && arch !== 'aarch64') throw new TypeError(`${BOOT_CONFIG_PATH}: arch must be x86_64 or aarch64`);
  if (!Array.isArray(record.modules)) throw new TypeError(`${BOOT_CONFIG_PATH}: modules must be an array`);
  const modules = record.modules.map((entry: unknown, index): BootModule => {
    const module = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
    return { name: text(module.name, `modules[${index}].name`), path: text(module.path, `modules[${index}].path`) };
  });
  return {
    name: text(record.name, 'name'),
    hostname: text(record.hostname, 'hostname'),
    kilnVersion: text(record.kilnVersion, 'kilnVersion'),
    // Images built before versions existed carry none: they are "0.0.0", which every versioned update is newer than.
    version: record.version === undefined ? '0.0.0' : text(record.version, 'version'),
    buildId: text(record.buildId, 'buildId'),
    arch,
    modules,
    ...deviceSections(record),
    ...(record.programs === undefined ? {} : { programs: parseBootPrograms(record.programs) }),
    ...containers(record),
  };
}

/** Each device-side section present in boot.json, checked for its JSON shape (its content was checked by the build). */
function deviceSections(record: Record<string, unknown>): DeviceSections {
  const out: Record<string, unknown> = {};
  for (const [key, kind] of Object.entries(DEVICE_SECTIONS)) {
    const value = record[key];
    if (kind === 'flag') {
      out[key] = value === true;
      continue;
    }
    if (value === undefined || value === null) continue;
    if (kind === 'object' && (typeof value !== 'object' || Array.isArray(value))) throw new TypeError(`${BOOT_CONFIG_PATH}: ${key} must be an object`);
    if (kind === 'port' && (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535)) {
      throw new TypeError(`${BOOT_CONFIG_PATH}: ${key} must be a port number (1-65535)`);
    }
    out[key] = value;
  }
  return out as unknown as DeviceSections;
}

function containers(record: Record<string, unknown>): Pick<BootConfig, 'containers' | 'containerStore'> {
  if (record.containers === undefined || record.containers === null) return {};
  if (!Array.isArray(record.containers)) throw new TypeError(`${BOOT_CONFIG_PATH}: containers must be an array`);
  return { containers: record.containers as BootContainer[], containerStore: text(record.containerStore, 'containerStore') };
}

/** The primary config's settings: what applies until (and unless) a secondary config says otherwise. */
export function primarySettings(config: BootConfig): DeviceSettings {
  const settings: DeviceSettings = { hostname: config.hostname };
  if (config.network) settings.network = config.network;
  if (config.time) settings.time = config.time;
  if (config.sysctl) settings.sysctl = config.sysctl;
  if (config.log) settings.log = config.log;
  return settings;
}
