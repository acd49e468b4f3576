/** tar, as container layers use it: a streaming reader (ustar, GNU long names, pax). No I/O of its own. */
export { readTar, type TarEntry, type TarEntryType } from './reader.ts';
export { decodeTarHeader, isZeroBlock, BLOCK_SIZE, type TarHeader, type TarTypeFlag } from './header.ts';
export { decodePaxRecords } from './pax.ts';
