/**
 * The two boot slots of this device: the partitions whose GPT names are KILN_A and KILN_B (kiln disk names each
 * partition by its label), with what a UEFI Hard Drive device path needs — number, first sector, size in sectors and
 * the partition's unique GUID. The kernel reports the first three in sysfs; the GUID only the GPT itself holds, so
 * the disk's primary header and that one entry are read (UEFI 2.10 §5.3).
 */
import type { HostFs } from '../sys/host-fs.ts';
import { listBlockDevices, SYS_CLASS_BLOCK } from '../storage/block-devices.ts';
import { readGuid } from '../contract/guid.ts';
import { DecodeError } from '../contract/decode-error.ts';
import { SLOT_LABELS } from '../contract/config/update-schema.ts';

export type SlotName = 'A' | 'B';

export interface Slot {
  name: SlotName;
  /** GPT name, e.g. KILN_A. */
  label: string;
  /** /dev/vda2 */
  device: string;
  /** /dev/vda */
  disk: string;
  partitionNumber: number;
  startLba: number;
  sizeLba: number;
  partitionGuid: string;
}

const SECTOR = 512;

/** The partition GUID of entry `number` (1-based), from the first 34 sectors of a GPT disk with 512-byte sectors. */
export function partitionGuidFromGpt(head: Uint8Array, number: number): string {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (head.length < 2 * SECTOR || new TextDecoder().decode(head.subarray(SECTOR, SECTOR + 8)) !== 'EFI PART') {
    throw new DecodeError('GPT', 'header', SECTOR, 'no "EFI PART" signature at LBA 1');
  }
  const entriesLba = Number(view.getBigUint64(SECTOR + 72, true)); // PartitionEntryLBA (8) @72
  const count = view.getUint32(SECTOR + 80, true); // NumberOfPartitionEntries (4) @80
  const size = view.getUint32(SECTOR + 84, true); // SizeOfPartitionEntry (4) @84
  if (number < 1 || number > count) throw new DecodeError('GPT', 'entries', SECTOR + 80, `entry ${number} of ${count}`);
  const at = entriesLba * SECTOR + (number - 1) * size;
  if (size < 128 || at + 32 > head.length)
    throw new DecodeError('GPT', 'entry', at, `entry ${number} (${size} bytes) is outside the ${head.length} bytes read`);
  return readGuid(head, at + 16); // UniquePartitionGUID (16) @16
}

export interface SlotDeps {
  fs: HostFs;
  readBlock(path: string, offset: number, length: number): Uint8Array;
}

/** Both slots, or a one-line reason why this disk has none usable. */
export function findSlots(deps: SlotDeps): { slots: Record<SlotName, Slot> } | { problem: string } {
  const devices = listBlockDevices(deps.fs);
  const found: Partial<Record<SlotName, Slot>> = {};
  for (const [i, label] of SLOT_LABELS.entries()) {
    const name: SlotName = i === 0 ? 'A' : 'B';
    const matches = devices.filter((d) => d.partName === label && d.partition !== undefined);
    if (matches.length === 0) return { problem: `no partition named ${label} (a disk written by kiln disk with update in the config has KILN_A and KILN_B)` };
    if (matches.length > 1)
      return { problem: `${matches.length} partitions named ${label} (${matches.map((m) => m.path).join(', ')}): which one is this device's is unclear` };
    const part = matches[0]!;
    const start = Number(deps.fs.readText(`${SYS_CLASS_BLOCK}/${part.name}/start`).trim());
    const disk = `/dev/${part.disk}`;
    let guid: string;
    try {
      guid = partitionGuidFromGpt(deps.readBlock(disk, 0, 34 * SECTOR), part.partition!);
    } catch (error) {
      return { problem: `${disk}: cannot read the GUID of ${label}: ${error instanceof Error ? error.message : String(error)}` };
    }
    found[name] = {
      name,
      label,
      device: part.path,
      disk,
      partitionNumber: part.partition!,
      startLba: start,
      sizeLba: part.sizeBytes / SECTOR,
      partitionGuid: guid,
    };
  }
  if (found.A!.disk !== found.B!.disk) return { problem: `KILN_A (${found.A!.disk}) and KILN_B (${found.B!.disk}) are on different disks` };
  return { slots: found as Record<SlotName, Slot> };
}

export function otherSlot(name: SlotName): SlotName {
  return name === 'A' ? 'B' : 'A';
}
