/**
 * Kernel modules a device with `storage` needs without the config naming them. Debian's kernel builds the disk
 * drivers and both filesystems as modules, and there is no modprobe on the device to load what the kernel asks
 * for on its own (ext4's crc32c, FAT's code pages), so everything is shipped and loaded at boot.
 */
import type { Storage } from '../../device/contract/config/storage-schema.ts';

/** Disk controllers: virtio-blk (QEMU, most VMs), NVMe, and AHCI SATA with the SCSI disk driver (/dev/sda). */
export const DISK_DRIVERS = ['virtio_pci', 'virtio_blk', 'nvme', 'ahci', 'sd_mod'] as const;

/**
 * ext4 asks the crypto API for "crc32c" when it mounts a filesystem with metadata checksums (the default since
 * e2fsprogs 1.43); without modprobe the request fails, so the generic implementation is loaded up front.
 */
const EXT4_MODULES = ['ext4', 'crc32c_generic'] as const;

/**
 * vfat reads names through two character sets: the code page of short names (codepage=, 437 in Debian's kernel)
 * and the I/O charset (iocharset=, "ascii" in Debian's kernel). Each is a module, loaded by name at mount time.
 */
const VFAT_MODULES = ['vfat'] as const;
const FAT_DEFAULT_CODEPAGE = '437';
const FAT_DEFAULT_IOCHARSET = 'ascii';

/** The modules to add to `kernel.modules` for `storage` (none without it). */
export function storageModules(storage: Storage | undefined): string[] {
  if (storage === undefined || storage.partitions.length === 0) return [];
  const modules = new Set<string>(DISK_DRIVERS);
  for (const partition of storage.partitions) {
    // Only what is mounted needs its filesystem driver; the ESP is usually left alone.
    if (partition.mount === undefined) continue;
    if (partition.filesystem === 'ext4') for (const m of EXT4_MODULES) modules.add(m);
    if (partition.filesystem === 'vfat') {
      for (const m of VFAT_MODULES) modules.add(m);
      const options = partition.options.flatMap((o) => o.split(','));
      const value = (key: string) =>
        options
          .filter((o) => o.startsWith(`${key}=`))
          .map((o) => o.slice(key.length + 1))
          .pop();
      modules.add(`nls_cp${value('codepage') ?? FAT_DEFAULT_CODEPAGE}`);
      modules.add(`nls_${value('iocharset') ?? FAT_DEFAULT_IOCHARSET}`);
    }
  }
  return [...modules];
}

/**
 * What the first stage of `layout: source` needs to mount the boot stick: the disk drivers, USB mass storage behind
 * xHCI/EHCI (a real stick), and vfat with Debian's default code page and I/O charset.
 */
export function sourceStickModules(): string[] {
  return [...DISK_DRIVERS, 'xhci_pci', 'ehci_pci', 'usb_storage', 'uas', ...VFAT_MODULES, `nls_cp${FAT_DEFAULT_CODEPAGE}`, `nls_${FAT_DEFAULT_IOCHARSET}`];
}
