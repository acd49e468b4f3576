/**
 * Where UEFI firmware looks for a boot loader on media it has no boot entry for (UEFI 2.10 §3.5.1.1), per
 * architecture: what a kiln ESP holds, and what the device's update stage replaces with a committed firmware.
 */
export const REMOVABLE_MEDIA_FILE = { x86_64: 'BOOTX64.EFI', aarch64: 'BOOTAA64.EFI' } as const;

/** `EFI/BOOT/BOOTX64.EFI`: the path on the ESP, '/'-separated. */
export function removableMediaPath(arch: keyof typeof REMOVABLE_MEDIA_FILE): string {
  return `EFI/BOOT/${REMOVABLE_MEDIA_FILE[arch]}`;
}
