/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as ext4 uses it for metadata checksums.
 * Node's zlib only has the IEEE CRC-32, so the device carries this small table-driven one.
 */

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/**
 * The raw CRC register after `bytes`, starting from `seed`, with no final inversion: what ext4 and e2fsprogs
 * call `crc32c_le(seed, ...)`. The standard CRC-32C of `bytes` is `~crc32cRaw(0xffffffff, bytes)`.
 * @example (~crc32cRaw(0xffffffff, new TextEncoder().encode('123456789'))) >>> 0 // 0xe3069283
 */
export function crc32cRaw(seed: number, bytes: Uint8Array): number {
  let crc = seed >>> 0;
  for (let i = 0; i < bytes.length; i++) crc = TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return crc >>> 0;
}
