/**
 * `programs:` in the config: TypeScript programs shipped as source under /src/<name>, each a command in PATH, and
 * optionally a service the init starts at boot and restarts per its policy. Part of the one config schema
 * (src/config/schema.ts); checks that need the disk (entry file, dependencies) happen at build time (prepare.ts).
 */
import { z } from 'zod';
import { COMMAND_NAME } from '../../device/contract/programs/stub.ts';
import { DEFAULT_BACKOFF } from '../../device/contract/programs/backoff.ts';
import { backoffSchema, restartSchema } from '../../device/contract/config/service-schema.ts';

/**
 * Commands a device has or may have (the init, Node, a shell, busybox applets a debug build or the source-root
 * layout may bring): a program by one of these names would shadow it in PATH.
 */
export const SYSTEM_COMMANDS: readonly string[] = [
  'init',
  'node',
  'npm',
  'npx',
  'corepack',
  'sh',
  'ash',
  'bash',
  'busybox',
  'env',
  'login',
  'getty',
  'su',
  'sudo',
  'mount',
  'umount',
  'reboot',
  'poweroff',
  'halt',
  'shutdown',
  'switch_root',
  'pivot_root',
  'chroot',
  'modprobe',
  'insmod',
  'rmmod',
  'lsmod',
  'depmod',
  'mdev',
  'udevadm',
  'sysctl',
  'dmesg',
  'hostname',
  'ls',
  'cat',
  'cp',
  'mv',
  'rm',
  'ln',
  'mkdir',
  'rmdir',
  'echo',
  'test',
  'true',
  'false',
  'sleep',
  'date',
  'kill',
  'ps',
  'top',
  'free',
  'df',
  'du',
  'sync',
  'chmod',
  'chown',
  'grep',
  'sed',
  'awk',
  'vi',
  'tar',
  'gzip',
  'find',
  'ip',
  'ifconfig',
  'route',
  'ping',
  'udhcpc',
  'wget',
  'nc',
  'crun',
  'runc',
  'fsck',
  'mkfs',
  'fdisk',
  'blkid',
];

/** Why `name` cannot be a program's command, or undefined when it can. */
export function reservedCommandReason(name: string): string | undefined {
  if (name === 'kiln' || name.startsWith('kiln-') || name.startsWith('kiln.') || name.startsWith('kiln_')) {
    return `"${name}" collides with kiln's own device commands (kiln-*); choose another name`;
  }
  if (SYSTEM_COMMANDS.includes(name)) return `"${name}" collides with a system command on the device; choose another name`;
  return undefined;
}

const serviceSchema = z
  .object({
    restart: restartSchema,
    backoff: backoffSchema.default(DEFAULT_BACKOFF).describe('Exponential delay between restarts.'),
  })
  .strict();

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name like "LOG_LEVEL"');

export const programSchema = z
  .object({
    name: z
      .string()
      .regex(COMMAND_NAME, 'expected a command name: lower-case letters, digits, ".", "_" and "-", starting with a letter or digit, like "greet"')
      .superRefine((name, ctx) => {
        const reason = reservedCommandReason(name);
        if (reason !== undefined) ctx.addIssue({ code: 'custom', message: reason });
      })
      .describe('Command name in PATH (/usr/bin/<name>) and the folder under /src.'),
    source: z.string().min(1).describe("Folder with the program's files and its package.json, relative to the config file."),
    entry: z
      .string()
      .regex(/^(?!\/)(?!.*(^|\/)\.\.(\/|$)).+\.(ts|mts|js|mjs)$/, 'expected a .ts or .js file inside the source folder, like "src/main.ts"')
      .optional()
      .describe('Entry file, relative to source. @default package.json "main", else "index.ts"'),
    args: z.array(z.string()).default([]).describe('Arguments when the init starts it (as a service).'),
    env: z.record(envName, z.string()).default({}).describe('Environment when the init starts it (as a service), added to PATH and HOME.'),
    service: serviceSchema.optional().describe('Start it at boot and keep it running per the restart policy.'),
  })
  .strict();

export const programsSchema = z
  .array(programSchema)
  .default([])
  .superRefine((programs, ctx) => {
    const seen = new Map<string, number>();
    programs.forEach((p, i) => {
      const first = seen.get(p.name);
      if (first !== undefined)
        ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `"${p.name}" is already the name of programs[${first}]; names must be unique` });
      else seen.set(p.name, i);
    });
  })
  .describe('TypeScript programs shipped as source, each a command in PATH; `service` ones run at boot.');

export type ProgramConfig = z.output<typeof programSchema>;
