/**
 * The `update` section of a config: the device takes signed firmware updates into A/B slots (device/update).
 * With it, `kiln disk` lays out two slot partitions after the ESP, the build adds `efi=runtime` and the modules the
 * update needs (efivarfs, vfat), and bakes the public key into the image.
 */
import { z } from 'zod';

/** FAT labels (and GPT names) of the two slots, in slot order. */
export const SLOT_LABELS = ['KILN_A', 'KILN_B'] as const;
/**
 * Where a slot keeps each architecture's UEFI executable (path on the slot's FAT, '/'-separated): not the
 * removable-media path, so no firmware finds and boots a slot on its own — only kiln's Boot#### entries do.
 */
export const SLOT_EFI_FILE = { x86_64: 'EFI/kiln/KILNX64.EFI', aarch64: 'EFI/kiln/KILNAA64.EFI' } as const;
/** Where the build puts the public key in the image. */
export const UPDATE_PUBLIC_KEY_PATH = '/etc/kiln/update.pub';

export const updateSchema = z
  .object({
    publicKey: z
      .string()
      .min(1)
      .describe(
        'The Ed25519 public key updates must be signed with (update.pub from `kiln keys`), relative to the config file. The build bakes it into the firmware.',
      ),
    slotSize: z
      .string()
      .regex(/^\d+(\.\d+)?\s*[KMG]i?B?$/i, 'expected a size like "64M"')
      .optional()
      .describe(
        'Size of each of the two boot slots (FAT32). A firmware bigger than its slot is a build error. @default 64M; with layout: source, whose slots hold Node and the TypeScript too, 160M per architecture + 32M (192M for one)',
      ),
    healthSeconds: z
      .number()
      .int()
      .min(1)
      .max(3600)
      .default(30)
      .describe('After a new firmware reached ready: how long the required containers must stay running (and healthy) before it is committed.'),
    required: z
      .array(z.string().min(1))
      .optional()
      .describe('Containers that must be running (and healthy, with a healthcheck) for the commit. @default every container'),
    stateDir: z
      .string()
      .regex(/^\/./, 'expected an absolute folder on a mounted writable partition, like "/data/kiln/update"')
      .default('/data/kiln/update')
      .describe('Where the device keeps the update state (pending, committed, failed builds): on a writable partition.'),
    allowDowngrade: z.boolean().default(false).describe('Accept a firmware whose version is lower than the running one.'),
  })
  .strict();

export type UpdateSection = z.output<typeof updateSchema>;
