import { crc32 } from 'node:zlib';
import {
  CHS_HEADS,
  CHS_MAX_CYLINDER,
  CHS_SECTORS_PER_TRACK,
  ENTRIES_SECTORS,
  ENTRY,
  GPT_ENTRY_COUNT,
  GPT_ENTRY_SIZE,
  GPT_HEADER_SIZE,
  GPT_REVISION,
  GPT_SIGNATURE,
  HEAD_SECTORS,
  HEADER,
  MBR,
  MBR_BOOT_SIGNATURE,
  MBR_ENTRY,
  MBR_TYPE_GPT_PROTECTIVE,
  PROTECTIVE_FIRST_CHS,
  SECTOR_SIZE,
  TAIL_SECTORS,
} from './_constants.js';
import { writeGuid } from './guid.js';
import { resolveGptLayout } from './layout.js';
import type { EncodedGpt, GptDisk, GptLayout } from './types.js';

/**
 * Encodes a GPT disk layout: protective MBR, primary header (LBA 1) and entry array (LBA 2–33) in `head`,
 * backup entry array and backup header in `tail` (the last 33 LBAs). Everything between is left to the caller
 * (partition contents; zeros elsewhere).
 * @example
 * const gpt = encodeGpt({ seed: 'demo', partitions: [{ type: GptPartitionType.efiSystem, name: 'ESP', sizeBytes: 64 << 20 }] });
 * // write gpt.head at 0, the ESP at gpt.partitions[0].offsetBytes, gpt.tail at gpt.tailOffset
 */
export function encodeGpt(layout: GptLayout): EncodedGpt {
  const disk = resolveGptLayout(layout);
  const diskSectors = disk.diskSizeBytes / SECTOR_SIZE;
  const entries = encodeEntries(disk);
  const entriesCrc = crc32(entries);

  const head = new Uint8Array(HEAD_SECTORS * SECTOR_SIZE);
  encodeProtectiveMbr(head.subarray(0, SECTOR_SIZE), diskSectors);
  const primaryEntriesLba = 2;
  head.set(encodeHeader(disk, 1, diskSectors - 1, primaryEntriesLba, entriesCrc), SECTOR_SIZE);
  head.set(entries, primaryEntriesLba * SECTOR_SIZE);

  const tail = new Uint8Array(TAIL_SECTORS * SECTOR_SIZE);
  const backupEntriesLba = diskSectors - TAIL_SECTORS;
  tail.set(entries, 0);
  tail.set(encodeHeader(disk, diskSectors - 1, 1, backupEntriesLba, entriesCrc), ENTRIES_SECTORS * SECTOR_SIZE);

  return { ...disk, head, tail, tailOffset: backupEntriesLba * SECTOR_SIZE };
}

/** LBA 0: an MBR with one 0xEE partition covering the disk, so MBR-only tools see it as in use. */
function encodeProtectiveMbr(sector: Uint8Array, diskSectors: number): void {
  const view = new DataView(sector.buffer, sector.byteOffset, sector.byteLength);
  const entry = MBR.partitionEntry;
  const lastLba = Math.min(diskSectors - 1, 0xffff_ffff);
  view.setUint8(entry + MBR_ENTRY.status, 0x00);
  sector.set(PROTECTIVE_FIRST_CHS, entry + MBR_ENTRY.firstChs);
  view.setUint8(entry + MBR_ENTRY.osType, MBR_TYPE_GPT_PROTECTIVE);
  sector.set(chsOf(lastLba), entry + MBR_ENTRY.lastChs);
  view.setUint32(entry + MBR_ENTRY.firstLba, 1, true);
  view.setUint32(entry + MBR_ENTRY.sectors, lastLba, true);
  view.setUint16(MBR.signature, MBR_BOOT_SIGNATURE, true);
}

/** CHS address in the MBR's packed form (head, sector | cylinder high bits, cylinder low); 0xFFFFFF past 1023 cylinders. */
export function chsOf(lba: number): [number, number, number] {
  const cylinder = Math.floor(lba / (CHS_HEADS * CHS_SECTORS_PER_TRACK));
  if (cylinder > CHS_MAX_CYLINDER) return [0xff, 0xff, 0xff];
  const head = Math.floor(lba / CHS_SECTORS_PER_TRACK) % CHS_HEADS;
  const sector = (lba % CHS_SECTORS_PER_TRACK) + 1;
  return [head, sector | ((cylinder >> 8) << 6), cylinder & 0xff];
}

function encodeHeader(disk: GptDisk, myLba: number, alternateLba: number, entriesLba: number, entriesCrc: number): Uint8Array {
  const sector = new Uint8Array(SECTOR_SIZE);
  const view = new DataView(sector.buffer);
  sector.set(new TextEncoder().encode(GPT_SIGNATURE), HEADER.signature);
  view.setUint32(HEADER.revision, GPT_REVISION, true);
  view.setUint32(HEADER.headerSize, GPT_HEADER_SIZE, true);
  view.setBigUint64(HEADER.myLba, BigInt(myLba), true);
  view.setBigUint64(HEADER.alternateLba, BigInt(alternateLba), true);
  view.setBigUint64(HEADER.firstUsableLba, BigInt(disk.firstUsableLba), true);
  view.setBigUint64(HEADER.lastUsableLba, BigInt(disk.lastUsableLba), true);
  writeGuid(sector, HEADER.diskGuid, disk.diskGuid);
  view.setBigUint64(HEADER.entriesLba, BigInt(entriesLba), true);
  view.setUint32(HEADER.entryCount, GPT_ENTRY_COUNT, true);
  view.setUint32(HEADER.entrySize, GPT_ENTRY_SIZE, true);
  view.setUint32(HEADER.entriesCrc, entriesCrc, true);
  // The CRC covers the header with its own CRC field zero, which it still is here.
  view.setUint32(HEADER.headerCrc, crc32(sector.subarray(0, GPT_HEADER_SIZE)), true);
  return sector;
}

function encodeEntries(disk: GptDisk): Uint8Array {
  const entries = new Uint8Array(GPT_ENTRY_COUNT * GPT_ENTRY_SIZE);
  const view = new DataView(entries.buffer);
  for (const p of disk.partitions) {
    const at = (p.number - 1) * GPT_ENTRY_SIZE;
    writeGuid(entries, at + ENTRY.typeGuid, p.type);
    writeGuid(entries, at + ENTRY.uniqueGuid, p.guid);
    view.setBigUint64(at + ENTRY.firstLba, BigInt(p.firstLba), true);
    view.setBigUint64(at + ENTRY.lastLba, BigInt(p.lastLba), true);
    view.setBigUint64(at + ENTRY.attributes, p.attributes, true);
    for (let i = 0; i < p.name.length; i++) view.setUint16(at + ENTRY.name + i * 2, p.name.charCodeAt(i), true);
  }
  return entries;
}
