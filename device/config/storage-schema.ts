/**
 * The `storage` section of the primary config: the partitions of the device disk. Shared by the host (`kiln disk`
 * writes them) and the device (the init finds them by LABEL and mounts them). Erasable TypeScript only.
 */
import { z } from 'zod';

const sizePattern = /^(rest|\d+(\.\d+)?\s*(K|M|G|T)(i?B)?)$/i;

export const partitionSchema = z
  .object({
    label: z.string().regex(/^[A-Za-z0-9_-]{1,11}$/, 'expected a filesystem label of 1-11 letters, digits, "_" or "-" (vfat allows 11)'),
    filesystem: z.enum(['vfat', 'ext4']),
    size: z
      .string()
      .regex(sizePattern, 'expected a size like "64M", "1G", "512MiB", or "rest" for the rest of the disk')
      .describe('Partition size, or "rest" (at most one partition, the last).'),
    esp: z.boolean().default(false).describe('The EFI System Partition: holds EFI/BOOT/BOOTX64.EFI (vfat).'),
    mount: z.string().regex(/^\/./, 'expected an absolute mount point like "/data"').optional(),
    options: z.array(z.string().regex(/^[a-z0-9_=,.-]+$/, 'expected a mount option like "ro" or "noexec"')).default([]),
    required: z.boolean().default(true).describe('A missing or unmountable required partition boots the device degraded.'),
    fsck: z.boolean().default(false).describe('Check the filesystem before mounting it.'),
    content: z.string().optional().describe('Host folder copied into the new filesystem by `kiln disk`, relative to the config.'),
  })
  .strict();

export const storageSchema = z
  .object({
    waitSeconds: z.number().min(0).max(600).default(10).describe('How long the init waits for block devices to appear.'),
    partitions: z.array(partitionSchema).default([]),
  })
  .strict();

export type Partition = z.output<typeof partitionSchema>;
export type Storage = z.output<typeof storageSchema>;
