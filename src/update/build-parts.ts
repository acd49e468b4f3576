/**
 * What `update` adds to a build: UEFI runtime services on the command line (Debian's RT kernel has
 * CONFIG_EFI_DISABLE_RUNTIME=y, so without `efi=runtime` there are no EFI variables), the modules the device's update
 * stage needs (efivarfs for the variables, vfat and its code pages to write a slot), the public key as a file of the
 * image, and the check that the firmware fits its slot.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { publicKeyFromPem } from '../../device/contract/update/statement.ts';
import { UPDATE_PUBLIC_KEY_PATH } from '../../device/contract/config/update-schema.ts';
import type { Config } from '../config/schema.js';
import type { ResolvedConfig } from '../config/resolve.js';
import type { FileToCopy } from '../pipeline/steps/file-targets.js';
import { KilnError } from '../util/errors.js';
import { MiB, formatSize, parseSize } from '../disk/size.js';
import { slotSizeOf } from '../disk/plan.js';

export const UPDATE_CMDLINE = 'efi=runtime';
/** efivarfs: BootNext/BootOrder/Boot####; vfat with Debian's default code page and I/O charset: the slots. */
export const UPDATE_MODULES = ['efivarfs', 'vfat', 'nls_cp437', 'nls_ascii'] as const;

export function updateModules(config: Pick<Config, 'update'>): string[] {
  return config.update === undefined ? [] : [...UPDATE_MODULES];
}

export function updateCmdline(config: Pick<Config, 'update'>): string {
  return config.update === undefined ? '' : UPDATE_CMDLINE;
}

/** The public key, checked (readable, an Ed25519 public key in PEM), as a file for the image's /etc/kiln. */
export async function updateKeyFile(resolved: ResolvedConfig): Promise<FileToCopy | undefined> {
  const update = resolved.config.update;
  if (update === undefined) return undefined;
  const where = `${resolved.displayName}: update.publicKey`;
  const source = path.resolve(resolved.dir, update.publicKey);
  let pem: string;
  try {
    pem = await readFile(source, 'utf8');
  } catch (error) {
    throw new KilnError('CONFIG_INVALID', `${where}: cannot read ${update.publicKey} (${(error as NodeJS.ErrnoException).code ?? String(error)})`, {
      hint: 'Make a key pair with `kiln keys --out keys` and name keys/update.pub here; keep keys/update.key off the device.',
    });
  }
  try {
    publicKeyFromPem(pem, where);
  } catch (error) {
    throw new KilnError('CONFIG_INVALID', (error as Error).message, { hint: 'Name the update.pub that `kiln keys` wrote (not the private update.key).' });
  }
  return { source, target: UPDATE_PUBLIC_KEY_PATH, mode: 0o644, where };
}

/**
 * The most a slot of `slotSize` holds: FAT32 with kiln's encoder spends two FATs (4 bytes per 512-byte cluster at
 * these sizes, under 1/64 of the partition each), 32 reserved sectors and the root and EFI folders; 1 MiB plus
 * 1/32 of the slot is a bound above that.
 */
export function slotCapacityBytes(slotBytes: number): number {
  return slotBytes - MiB - Math.ceil(slotBytes / 32);
}

/** Throws naming the config key when the firmware would not fit its slot. */
export function checkFitsSlot(config: Pick<Config, 'update' | 'layout' | 'arch'>, firmwareBytes: number, configName: string): void {
  if (config.update === undefined) return;
  const slotSize = slotSizeOf(config);
  const given = config.update.slotSize === undefined ? ' (the default)' : '';
  const slotBytes = parseSize(slotSize) ?? 0;
  const capacity = slotCapacityBytes(slotBytes);
  if (firmwareBytes > capacity) {
    const need = Math.ceil((firmwareBytes + MiB) / (1 - 1 / 32) / MiB) + 1;
    const what = config.layout === 'source' ? 'firmware (UKI and its tree)' : 'firmware';
    throw new KilnError(
      'SLOT_TOO_SMALL',
      `${configName}: update.slotSize ${slotSize}${given}: the ${formatSize(firmwareBytes)} ${what} does not fit a slot (at most ${formatSize(capacity)})`,
      {
        hint: `Give update.slotSize: ${need}M or more (both slots are that size on the disk).`,
      },
    );
  }
}
