const utf8 = new TextDecoder('utf-8');

/**
 * Decodes a kernel module's `.modinfo` section: NUL-separated `key=value` strings (MODULE_INFO() in
 * <linux/moduleparam.h>), with NUL padding between some of them. Keys repeat (alias, parm, firmware), so each maps
 * to all its values in file order. A string without '=' is a key with an empty value, as kmod reads it.
 *
 * @example
 * decodeModinfo(new TextEncoder().encode('license=GPL\0depends=virtio,virtio_ring\0'));
 * // Map { 'license' => ['GPL'], 'depends' => ['virtio,virtio_ring'] }
 */
export function decodeModinfo(section: Uint8Array): Map<string, string[]> {
  const info = new Map<string, string[]>();
  let start = 0;
  while (start < section.length) {
    let end = section.indexOf(0, start);
    if (end < 0) end = section.length;
    if (end > start) {
      const entry = utf8.decode(section.subarray(start, end));
      const eq = entry.indexOf('=');
      const key = eq < 0 ? entry : entry.slice(0, eq);
      const value = eq < 0 ? '' : entry.slice(eq + 1);
      const values = info.get(key);
      if (values === undefined) info.set(key, [value]);
      else values.push(value);
    }
    start = end + 1;
  }
  return info;
}
