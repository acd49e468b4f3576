/** Suffixes of a module file: plain, or compressed the ways kmod reads (CONFIG_MODULE_COMPRESS_*). */
const MODULE_SUFFIX = /\.ko(\.(xz|zst|gz))?$/;

/**
 * The name the kernel and modprobe use for a module file: the basename minus `.ko` (and a compression suffix),
 * with '-' turned into '_' (the kernel's KBUILD_MODNAME does the same).
 *
 * @example
 * moduleName('kernel/drivers/char/hw_random/virtio-rng.ko.xz'); // 'virtio_rng'
 */
export function moduleName(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return base.replace(MODULE_SUFFIX, '').replaceAll('-', '_');
}
