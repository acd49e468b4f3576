/**
 * The module names in a decoded `.modinfo`'s `depends=` field: comma-separated, empty when the module needs nothing.
 * This is the same list depmod turns into modules.dep, so kiln can resolve modules without running depmod.
 *
 * @example
 * dependsFromModinfo(new Map([['depends', ['virtio,virtio_ring']]])); // ['virtio', 'virtio_ring']
 */
export function dependsFromModinfo(modinfo: ReadonlyMap<string, readonly string[]>): string[] {
  return (modinfo.get('depends') ?? []).flatMap((value) => value.split(',')).filter((name) => name !== '');
}
