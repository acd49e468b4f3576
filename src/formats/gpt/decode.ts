import { crc32 } from 'node:zlib';
import { DecodeError } from '../../util/errors.js';
import {
  ENTRY,
  GPT_ENTRY_SIZE,
  GPT_HEADER_SIZE,
  GPT_NAME_UNITS,
  GPT_SIGNATURE,
  HEAD_SECTORS,
  HEADER,
  MBR,
  MBR_BOOT_SIGNATURE,
  MBR_ENTRY,
  MBR_TYPE_GPT_PROTECTIVE,
  SECTOR_SIZE,
  TAIL_SECTORS,
} from './_constants.js';
import { isNullGuid, readGuid } from './guid.js';
import { findPlacementProblem } from './layout.js';
import type { GptDisk, GptPartition } from './types.js';

const FORMAT = 'GPT';
const MBR_PARTITION_ENTRIES = 4;
const MBR_ENTRY_SIZE = 16;

/** A decoded header, before its entries are read. */
interface Header {
  offset: number;
  alternateLba: number;
  firstUsableLba: number;
  lastUsableLba: number;
  diskGuid: string;
  entriesLba: number;
  entryCount: number;
  entrySize: number;
  entriesCrc: number;
}

/**
 * Decodes and checks the GPT of a whole disk image: protective MBR, primary header and entries (CRC32s),
 * the backup header and entries at the end of the disk (CRC32s, and that they mirror the primary), and that
 * the partitions lie in the usable area without overlapping. Throws `DecodeError` naming the bad structure.
 * @example decodeGpt(readFileSync('disk.img')).partitions[0].offsetBytes // 1048576
 */
export function decodeGpt(bytes: Uint8Array): GptDisk {
  if (bytes.length % SECTOR_SIZE !== 0 || bytes.length < (HEAD_SECTORS + TAIL_SECTORS) * SECTOR_SIZE) {
    throw new DecodeError(FORMAT, 'disk', 0, `${bytes.length} bytes is not a whole number of sectors holding two GPTs`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lastLba = bytes.length / SECTOR_SIZE - 1;
  checkProtectiveMbr(view);

  const primary = decodeHeader(bytes, view, 1, lastLba);
  if (primary.alternateLba !== lastLba) {
    throw new DecodeError(
      FORMAT,
      'header',
      primary.offset + HEADER.alternateLba,
      `backup header LBA ${primary.alternateLba} is not the disk's last LBA ${lastLba}`,
    );
  }
  const backup = decodeHeader(bytes, view, lastLba, lastLba);
  const mirrored: [keyof Header, number][] = [
    ['firstUsableLba', HEADER.firstUsableLba],
    ['lastUsableLba', HEADER.lastUsableLba],
    ['diskGuid', HEADER.diskGuid],
    ['entryCount', HEADER.entryCount],
    ['entrySize', HEADER.entrySize],
    ['entriesCrc', HEADER.entriesCrc],
  ];
  if (backup.alternateLba !== 1) {
    throw new DecodeError(FORMAT, 'backup header', backup.offset + HEADER.alternateLba, `alternate LBA ${backup.alternateLba} is not 1`);
  }
  for (const [field, at] of mirrored) {
    if (backup[field] !== primary[field]) {
      throw new DecodeError(
        FORMAT,
        'backup header',
        backup.offset + at,
        `${field} ${String(backup[field])} differs from the primary header's ${String(primary[field])}`,
      );
    }
  }
  if (
    primary.firstUsableLba < primary.entriesLba + entriesSectors(primary) ||
    primary.lastUsableLba >= backup.entriesLba ||
    primary.lastUsableLba < primary.firstUsableLba
  ) {
    throw new DecodeError(
      FORMAT,
      'header',
      primary.offset + HEADER.firstUsableLba,
      `usable LBAs ${primary.firstUsableLba}..${primary.lastUsableLba} overlap the GPT itself`,
    );
  }

  const partitions = decodeEntries(bytes, view, primary);
  const problem = findPlacementProblem(partitions, primary.firstUsableLba, primary.lastUsableLba, bytes.length);
  if (problem !== undefined) throw new DecodeError(FORMAT, 'partition entries', primary.entriesLba * SECTOR_SIZE, problem);
  return {
    diskSizeBytes: bytes.length,
    diskGuid: primary.diskGuid,
    firstUsableLba: primary.firstUsableLba,
    lastUsableLba: primary.lastUsableLba,
    partitions,
  };
}

/**
 * Decodes the protective MBR, primary header and partition entries (with their CRC32s) from the head of a disk:
 * its first 34 sectors, for a disk too big to read whole. The backup GPT is not checked (see `decodeGpt`).
 * @example decodeGptHead(firstSectors, statSync('disk.img').size).partitions[1].offsetBytes
 */
export function decodeGptHead(head: Uint8Array, diskSizeBytes: number): GptDisk {
  if (head.length < HEAD_SECTORS * SECTOR_SIZE) {
    throw new DecodeError(FORMAT, 'disk', 0, `${head.length} bytes is shorter than a GPT head (${HEAD_SECTORS} sectors)`);
  }
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  checkProtectiveMbr(view);
  const primary = decodeHeader(head, view, 1, Math.floor(diskSizeBytes / SECTOR_SIZE) - 1);
  const partitions = decodeEntries(head, view, primary);
  const problem = findPlacementProblem(partitions, primary.firstUsableLba, primary.lastUsableLba, diskSizeBytes);
  if (problem !== undefined) throw new DecodeError(FORMAT, 'partition entries', primary.entriesLba * SECTOR_SIZE, problem);
  return { diskSizeBytes, diskGuid: primary.diskGuid, firstUsableLba: primary.firstUsableLba, lastUsableLba: primary.lastUsableLba, partitions };
}

function checkProtectiveMbr(view: DataView): void {
  if (view.getUint16(MBR.signature, true) !== MBR_BOOT_SIGNATURE) {
    throw new DecodeError(FORMAT, 'protective MBR', MBR.signature, 'missing the 0x55 0xAA boot signature');
  }
  for (let i = 0; i < MBR_PARTITION_ENTRIES; i++) {
    if (view.getUint8(MBR.partitionEntry + i * MBR_ENTRY_SIZE + MBR_ENTRY.osType) === MBR_TYPE_GPT_PROTECTIVE) return;
  }
  throw new DecodeError(FORMAT, 'protective MBR', MBR.partitionEntry, 'no 0xEE (GPT protective) partition');
}

function decodeHeader(bytes: Uint8Array, view: DataView, lba: number, lastLba: number): Header {
  const offset = lba * SECTOR_SIZE;
  const what = lba === 1 ? 'header' : 'backup header';
  const fail = (field: number, reason: string): never => {
    throw new DecodeError(FORMAT, what, offset + field, reason);
  };
  const signature = new TextDecoder('latin1').decode(bytes.subarray(offset, offset + GPT_SIGNATURE.length));
  if (signature !== GPT_SIGNATURE) fail(HEADER.signature, `bad signature ${JSON.stringify(signature)}`);
  const revision = view.getUint32(offset + HEADER.revision, true);
  if (revision >>> 16 !== 1) fail(HEADER.revision, `unsupported revision 0x${revision.toString(16).padStart(8, '0')}`);
  const headerSize = view.getUint32(offset + HEADER.headerSize, true);
  if (headerSize < GPT_HEADER_SIZE || headerSize > SECTOR_SIZE) fail(HEADER.headerSize, `bad header size ${headerSize}`);

  // A copy (a Node Buffer's slice() would be a view, and zeroing its CRC field would change the caller's bytes).
  const copy = new Uint8Array(bytes.subarray(offset, offset + headerSize));
  new DataView(copy.buffer).setUint32(HEADER.headerCrc, 0, true);
  const stored = view.getUint32(offset + HEADER.headerCrc, true);
  const computed = crc32(copy);
  // The header as a whole is what the CRC vouches for, so the error points at its start.
  if (stored !== computed) throw new DecodeError(FORMAT, what, offset, `bad CRC ${hex32(stored)}, computed ${hex32(computed)}`);

  const lbaField = (field: number): number => {
    const value = view.getBigUint64(offset + field, true);
    if (value > BigInt(lastLba)) fail(field, `LBA ${value} is beyond the disk's last LBA ${lastLba}`);
    return Number(value);
  };
  const myLba = lbaField(HEADER.myLba);
  if (myLba !== lba) fail(HEADER.myLba, `my-LBA field is ${myLba}, not ${lba}`);
  const header: Header = {
    offset,
    alternateLba: lbaField(HEADER.alternateLba),
    firstUsableLba: lbaField(HEADER.firstUsableLba),
    lastUsableLba: lbaField(HEADER.lastUsableLba),
    diskGuid: readGuid(bytes, offset + HEADER.diskGuid),
    entriesLba: lbaField(HEADER.entriesLba),
    entryCount: view.getUint32(offset + HEADER.entryCount, true),
    entrySize: view.getUint32(offset + HEADER.entrySize, true),
    entriesCrc: view.getUint32(offset + HEADER.entriesCrc, true),
  };
  if (header.entrySize < GPT_ENTRY_SIZE || header.entrySize % 8 !== 0) fail(HEADER.entrySize, `bad entry size ${header.entrySize}`);
  if (header.entriesLba + entriesSectors(header) - 1 > lastLba) {
    fail(HEADER.entriesLba, `${header.entryCount} entries at LBA ${header.entriesLba} run past the end of the disk`);
  }
  const start = header.entriesLba * SECTOR_SIZE;
  const entriesCrc = crc32(bytes.subarray(start, start + header.entryCount * header.entrySize));
  if (entriesCrc !== header.entriesCrc) {
    throw new DecodeError(
      FORMAT,
      lba === 1 ? 'partition entries' : 'backup partition entries',
      start,
      `bad CRC ${hex32(entriesCrc)}, header says ${hex32(header.entriesCrc)}`,
    );
  }
  return header;
}

function decodeEntries(bytes: Uint8Array, view: DataView, header: Header): GptPartition[] {
  const partitions: GptPartition[] = [];
  for (let i = 0; i < header.entryCount; i++) {
    const at = header.entriesLba * SECTOR_SIZE + i * header.entrySize;
    if (isNullGuid(bytes, at + ENTRY.typeGuid)) continue;
    const firstLba = Number(view.getBigUint64(at + ENTRY.firstLba, true));
    const lastLba = Number(view.getBigUint64(at + ENTRY.lastLba, true));
    const units: number[] = [];
    for (let u = 0; u < GPT_NAME_UNITS; u++) {
      const unit = view.getUint16(at + ENTRY.name + u * 2, true);
      if (unit === 0) break;
      units.push(unit);
    }
    partitions.push({
      number: i + 1,
      type: readGuid(bytes, at + ENTRY.typeGuid),
      name: String.fromCharCode(...units),
      guid: readGuid(bytes, at + ENTRY.uniqueGuid),
      attributes: view.getBigUint64(at + ENTRY.attributes, true),
      firstLba,
      lastLba,
      offsetBytes: firstLba * SECTOR_SIZE,
      sizeBytes: (lastLba - firstLba + 1) * SECTOR_SIZE,
    });
  }
  return partitions;
}

function entriesSectors(header: Pick<Header, 'entryCount' | 'entrySize'>): number {
  return Math.ceil((header.entryCount * header.entrySize) / SECTOR_SIZE);
}

function hex32(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}
