/**
 * The device-side sections of a kiln config: what the user writes under these keys reaches the init unchanged, in
 * /etc/kiln/boot.json. This is their one schema: the host's config schema (src/config/schema.ts) spreads this shape,
 * so validation, defaults, the JSON Schema for editors and the types come from here, and the boot contract
 * (boot-config.ts) lists the same keys — a key in one and not the other is a type error.
 *
 * zod is loaded here, so the init imports this module for its types only (`import type`): no schema library on the
 * boot path. To add a device-side key: add it here and to DEVICE_SECTIONS in boot-config.ts, then use it in its stage.
 */
import { z } from 'zod';
import { logSchema, networkSchema, secondarySchema, sysctlSchema, timeSchema } from './config/secondary-schema.ts';
import { storageSchema } from './config/storage-schema.ts';
import { watchdogSchema } from './config/watchdog-schema.ts';
import { updateSchema } from './config/update-schema.ts';

/** Where the device keeps container images when the config does not say: the default is filled once, on the host. */
export const DEFAULT_CONTAINER_STORE = '/data/kiln/containers';

/** A TCP port number: a new schema for each key that takes one, so no schema instance is shared between keys. */
const tcpPort = () => z.number().int().min(1).max(65535);

export const deviceSectionsShape = {
  debug: z.boolean().default(false).describe('Development: a console shell when the boot is degraded, more logging.'),
  storage: storageSchema.optional().describe('The partitions of the device disk, found by filesystem LABEL at boot.'),
  secondary: z
    .object({
      path: z.string().regex(/^\/./, 'expected an absolute path on a writable partition, like "/data/kiln/secondary.yml"'),
      default: secondarySchema.default({}).describe('Written to `path` on first boot when no file exists there.'),
    })
    .strict()
    .optional()
    .describe('Where the writable secondary config lives, and its default.'),
  network: networkSchema.optional(),
  time: timeSchema.optional(),
  sysctl: sysctlSchema.optional(),
  log: logSchema.optional(),
  logs: z
    .object({
      path: z.string().regex(/^\/./, 'expected an absolute folder on a writable partition, like "/data/log"'),
      maxBytes: z
        .number()
        .int()
        .min(4096)
        .default(1 << 20)
        .describe('Rotate a log file when it reaches this size.'),
      keep: z.number().int().min(1).max(100).default(3).describe('Rotated files kept per log.'),
    })
    .strict()
    .optional()
    .describe('Persist the init log and the kernel log to this folder, with size-capped rotation.'),
  update: updateSchema
    .optional()
    .describe('Firmware updates in the field: two boot slots, tried once with BootNext, committed when healthy, rolled back otherwise. @default off'),
  statusPort: tcpPort()
    .optional()
    .describe(
      'TCP port of a read-only HTTP status endpoint served by the init: GET /status answers JSON (name, hostname, uptime, clock, addresses). No authentication: only for trusted networks. @default off',
    ),
  apiPort: tcpPort()
    .optional()
    .describe(
      'TCP port of the management API (status, containers, logs, reload, reboot), with the bearer token the secondary config provisions (api.token); without a token there is no TCP listener. The API is always on the unix socket /run/kiln/api.sock. @default off',
    ),
  watchdog: watchdogSchema
    .optional()
    .describe(
      'A hardware watchdog the init arms at boot and pets from its event loop: when the init (or the kernel) hangs, the pets stop and the hardware resets the machine after `timeoutSeconds`. A clean shutdown disarms it. @default off',
    ),
};

/** The device-side sections after validation, every default filled: what boot.json carries. */
export type DeviceSections = z.output<z.ZodObject<typeof deviceSectionsShape>>;
