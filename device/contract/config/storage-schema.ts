/**
 * The `storage` section of the primary config: the partitions of the device disk. Shared by the host (`kiln disk`
 * writes them) and the device (the init finds them by LABEL and mounts them). Erasable TypeScript only.
 */
import { z } from 'zod';
import { mountArguments } from './mount-options.ts';

const sizePattern = /^(rest|\d+(\.\d+)?\s*(K|M|G|T)(i?B)?)$/i;

/** Longest labels the filesystems store: FAT's 11-byte volume label, ext4's 16-byte s_volume_name. */
export const LABEL_MAX: Record<'vfat' | 'ext4', number> = { vfat: 11, ext4: 16 };

export const partitionSchema = z
  .object({
    label: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,16}$/, 'expected a filesystem label of letters, digits, "_" or "-" (at most 11 for vfat, 16 for ext4)')
      .describe('Filesystem label: how the device finds the partition (and the GPT partition name).'),
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
  .strict()
  .superRefine((storage, ctx) => {
    const at = (i: number, key: string) => ['partitions', i, key];
    const labels = new Map<string, number>();
    const mounts = new Map<string, number>();
    let esp: number | undefined;
    storage.partitions.forEach((p, i) => {
      if (p.label.length > LABEL_MAX[p.filesystem]) {
        ctx.addIssue({
          code: 'custom',
          path: at(i, 'label'),
          message: `expected a ${p.filesystem} label of at most ${LABEL_MAX[p.filesystem]} characters, found "${p.label}" (${p.label.length})`,
        });
      }
      // Case-blind: vfat stores labels upper case, so "data" and "DATA" would be the same label on the device.
      const label = p.label.toUpperCase();
      const first = labels.get(label);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: at(i, 'label'),
          message: `expected a label no other partition has, found "${p.label}" again (partitions[${first}] has it)`,
        });
      } else labels.set(label, i);
      if (p.size.toLowerCase() === 'rest' && i !== storage.partitions.length - 1) {
        ctx.addIssue({
          code: 'custom',
          path: at(i, 'size'),
          message: `expected "rest" only on the last partition (it takes what the others leave), found it on partitions[${i}] of ${storage.partitions.length}`,
        });
      }
      if (p.esp) {
        if (esp !== undefined)
          ctx.addIssue({
            code: 'custom',
            path: at(i, 'esp'),
            message: `expected one EFI System Partition, found a second one (partitions[${esp}] is the first)`,
          });
        else esp = i;
        if (p.filesystem !== 'vfat')
          ctx.addIssue({
            code: 'custom',
            path: at(i, 'filesystem'),
            message: `expected vfat for the EFI System Partition (UEFI firmware reads FAT only), found "${p.filesystem}"`,
          });
      }
      if (p.mount !== undefined) {
        const other = mounts.get(p.mount);
        if (other !== undefined)
          ctx.addIssue({
            code: 'custom',
            path: at(i, 'mount'),
            message: `expected a mount point no other partition has, found "${p.mount}" again (partitions[${other}] has it)`,
          });
        else mounts.set(p.mount, i);
      }
      p.options.forEach((option, j) => {
        try {
          mountArguments([option]);
        } catch (error) {
          ctx.addIssue({ code: 'custom', path: ['partitions', i, 'options', j], message: (error as Error).message });
        }
      });
    });
  });

export type Partition = z.output<typeof partitionSchema>;
export type Storage = z.output<typeof storageSchema>;
