/**
 * /etc/kiln/boot.json: what the build tells the init about this image. Written by kiln's build, so a wrong shape
 * is a kiln bug, reported with the key path rather than tolerated.
 */

export const BOOT_CONFIG_PATH = '/etc/kiln/boot.json';

export interface BootModule {
  name: string;
  /** Absolute path of the `.ko` file inside the initramfs. */
  path: string;
}

export interface BootConfig {
  name: string;
  hostname: string;
  kilnVersion: string;
  buildId: string;
  arch: 'x86_64' | 'aarch64';
  /** In load order: dependencies first. */
  modules: BootModule[];
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
    buildId: text(record.buildId, 'buildId'),
    arch,
    modules,
  };
}
