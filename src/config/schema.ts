/**
 * The one schema of a kiln device description. It is the single source of
 * - the TypeScript types (`UserConfig` = what a user writes, `Config` = after defaults),
 * - validation of `kiln.yml` and `kiln.config.ts` (see load.ts), and
 * - the JSON Schema shipped as `schema/kiln.schema.json` for editors (see json-schema.ts).
 * Every object is strict: an unknown or misspelt key is an error, never silently ignored.
 */
import { z } from 'zod';
import { deviceSectionsShape, DEFAULT_CONTAINER_STORE } from '../../device/contract/device-sections.ts';
import { containersSchema, isOnMount } from '../../device/contract/config/containers-schema.ts';
import { programsSchema } from '../programs/schema.js';

import { ARCHES, type Arch } from './arch.js';

export { ARCHES, type Arch };

const archName = z.enum(ARCHES);
/** One architecture, or a list of them: `kiln build` then makes one UKI per architecture. */
const archSchema = z.union([
  archName,
  z
    .array(archName)
    .min(1)
    .superRefine((list, ctx) => {
      list.forEach((arch, i) => {
        const first = list.indexOf(arch);
        if (first < i)
          ctx.addIssue({ code: 'custom', path: [i], input: arch, message: `expected each architecture once; "${arch}" is already arch[${first}]` });
      });
    })
    .meta({ uniqueItems: true }), // the same rule for editors (JSON Schema)
]);

/** The architectures a config builds for, in the order it names them. */
export function configArches(config: { arch: Arch | readonly Arch[] }): Arch[] {
  return typeof config.arch === 'string' ? [config.arch] : [...config.arch];
}

// No regex flags: the pattern is also the JSON Schema's, which has none.
const hostnamePattern = /^(?=.{1,63}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$/;

const compressionSchema = z
  .object({
    algorithm: z.enum(['zstd', 'xz']).describe('Compressor for the initramfs layers.'),
    level: z.number().int().min(1).max(22).describe('zstd: 1-22 (above 19 uses --ultra); xz: 1-9.'),
    extreme: z.boolean().optional().describe('xz only: --extreme (slower, a little smaller).'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.algorithm === 'xz' && c.level > 9) {
      ctx.addIssue({ code: 'custom', path: ['level'], message: `expected xz level 1-9, found ${c.level}` });
    }
    if (c.algorithm === 'zstd' && c.extreme !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['extreme'], message: 'expected no "extreme" with zstd (xz only)' });
    }
  });
export type Compression = z.infer<typeof compressionSchema>;

export const DEFAULT_RELEASE_COMPRESSION: Compression = { algorithm: 'xz', level: 9, extreme: true };
export const DEFAULT_FAST_COMPRESSION: Compression = { algorithm: 'zstd', level: 3 };

const moduleName = z.string().regex(/^[A-Za-z0-9_-]+$/, 'expected a kernel module name like "virtio_blk"');

export const configSchema = z
  .object({
    $schema: z.string().optional().describe('Path or URL of kiln.schema.json, for editors.'),
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'expected lower-case letters, digits and "-", like "edge-gateway"')
      .describe('Name of the device image; also the default hostname.'),
    version: z
      .string()
      .regex(/^\d{1,9}(\.\d{1,9}){0,3}$/, 'expected dotted numbers like "1.4.2"')
      .default('0.0.0')
      .describe('Version of this firmware: a device with `update` refuses an update older than what it runs.'),
    arch: archSchema.default('x86_64').describe('CPU architecture of the device, or a list of them (`[x86_64, aarch64]`): one UKI per architecture.'),
    layout: z
      .enum(['initramfs', 'source'])
      .default('initramfs')
      .describe(
        "Where Node, the init and the programs live. `initramfs`: all inside the UKI, one self-contained EFI. `source` (u-root's Sourcery layout): the UKI keeps the kernel, the modules that reach the boot disk and a tiny first stage; Node and its libraries (/linux_<arch>/{bin,lib}) and all TypeScript (/src, shared by every architecture) are read from the ESP, found by its label. `kiln disk` writes them there; for aarch64 it is what keeps the EFI far below 45 MB.",
      ),
    hostname: z
      .string()
      .regex(hostnamePattern, 'expected a hostname of letters, digits and "-" (at most 63)')
      .optional()
      .describe('Hostname set at boot. @default the name'),
    kernel: z
      .object({
        package: z
          .string()
          .regex(/^[a-z0-9][a-z0-9+.-]+$/, 'expected a Debian package name')
          .optional()
          .describe('Debian kernel package. @default "linux-image-rt-amd64" (x86_64) / "linux-image-rt-arm64" (aarch64)'),
        cmdline: z.string().default('').describe("Extra kernel command-line words, after kiln's own."),
        modules: z.array(moduleName).default([]).describe('Kernel modules to ship and load at boot; dependencies come along.'),
      })
      .strict()
      .default({ cmdline: '', modules: [] }),
    compression: z
      .object({
        release: compressionSchema.default(DEFAULT_RELEASE_COMPRESSION).describe('The default profile: smallest image.'),
        fast: compressionSchema.default(DEFAULT_FAST_COMPRESSION).describe('`--profile fast`: quick development builds.'),
      })
      .strict()
      .default({ release: DEFAULT_RELEASE_COMPRESSION, fast: DEFAULT_FAST_COMPRESSION }),
    // The device-side sections (debug … apiPort): defined once in the boot contract, carried into boot.json as they are.
    ...deviceSectionsShape,
    files: z
      .array(
        z
          .object({
            source: z.string().min(1).describe('Host file or folder, relative to the config file.'),
            target: z.string().regex(/^\/./, 'expected an absolute path on the device like "/etc/motd"'),
            mode: z.number().int().min(0).max(0o7777).optional().describe("Permission bits; @default the host file's"),
          })
          .strict(),
      )
      .default([])
      .describe('Host files or folders copied into the root filesystem.'),
    programs: programsSchema,
    containers: containersSchema,
    containerStore: z
      .string()
      .regex(/^\/./, 'expected an absolute folder on a writable partition, like "/data/kiln/containers"')
      .default(DEFAULT_CONTAINER_STORE)
      .describe('Where the device keeps container images (an OCI image layout, seeded by `kiln disk`), their root filesystems and logs.'),
    // Host-only: the build reads it, the device never sees it (not in boot.json, not in the build id).
    signing: z
      .object({
        key: z
          .string()
          .min(1)
          .describe(
            'The Secure Boot signing key (db.key from `kiln keys --secure-boot`): RSA, PEM, mode 0600, unencrypted or with its passphrase in KILN_SIGN_PASSPHRASE; relative to the config file.',
          ),
        cert: z.string().min(1).describe("The key's X.509 certificate in PEM (db.pem), the one enrolled in the firmware's db; relative to the config file."),
      })
      .strict()
      .optional()
      .describe(
        'Secure Boot: the build signs every UKI (Authenticode, SHA-256) as its last step; `kiln build --sign-key/--sign-cert` override it. The signing time is SOURCE_DATE_EPOCH (else 0), so a build signs to the same bytes every time.',
      ),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.update !== undefined) {
      const mounts = (c.storage?.partitions ?? []).filter((p) => p.mount !== undefined && p.filesystem === 'ext4');
      if (!mounts.some((p) => isOnMount(c.update!.stateDir, p.mount))) {
        ctx.addIssue({
          code: 'custom',
          path: ['update', 'stateDir'],
          message: `expected a folder on a mounted ext4 partition (the update state must survive reboots), found "${c.update.stateDir}" and ${mounts.length === 0 ? 'no mounted ext4 partition' : `mounts ${mounts.map((p) => p.mount).join(', ')}`}`,
        });
      }
    }
    if (c.containers.length === 0) return;
    const partitions = c.storage?.partitions ?? [];
    const store = partitions.find((p) => isOnMount(c.containerStore, p.mount));
    if (store === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['containerStore'],
        message: `expected a folder on a mounted partition (the images live on the data partition, not in the EFI), found "${c.containerStore}" and ${partitions.length === 0 ? 'no storage.partitions' : `mounts ${partitions.flatMap((p) => p.mount ?? []).join(', ') || 'none'}`}`,
      });
    }
    c.containers.forEach((container, i) =>
      container.mounts.forEach((m, j) => {
        if (m.type === 'partition' && !partitions.some((p) => p.label === m.label && p.mount !== undefined)) {
          ctx.addIssue({
            code: 'custom',
            path: ['containers', i, 'mounts', j, 'label'],
            message: `expected the label of a mounted partition in storage.partitions, found "${m.label}"`,
          });
        }
      }),
    );
  });

/** What a user writes (all defaults optional). */
export type UserConfig = z.input<typeof configSchema>;
/** A validated config with every default filled in. */
export type Config = z.output<typeof configSchema>;
export type Profile = 'release' | 'fast';
