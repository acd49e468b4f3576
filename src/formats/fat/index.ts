/** FAT32 volumes: a pure writer (whole or as extents) and a checking reader, no I/O. */
export { encodeFat32, encodeFat32Extents, dosTimestamp } from './encode.js';
export type { Fat32Image, Fat32Options, FatExtent } from './encode.js';
export { decodeFat32 } from './decode.js';
export type { Fat32Entry, Fat32Volume } from './decode.js';
export { FAT32_MIN_SIZE_BYTES, clusterBytes, fat32Geometry } from './geometry.js';
export type { Fat32Geometry } from './geometry.js';
export { fat32SizeFor } from './size.js';
export type { FatFile } from './tree.js';
