import { createHash, randomUUID } from 'node:crypto';
import { GUID_SIZE } from '../../../device/contract/guid.ts';

export { GUID_SIZE, NULL_GUID, isNullGuid, normalizeGuid, readGuid, writeGuid } from '../../../device/contract/guid.ts';

/** Partition type GUIDs kiln uses (UEFI spec table 5-7, Discoverable Partitions Specification). */
export const GptPartitionType = {
  /** EFI System Partition: FAT, where firmware looks for `EFI/BOOT/BOOTX64.EFI`. */
  efiSystem: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  /** Generic Linux filesystem data. */
  linuxFilesystem: '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
  /** FAT (or NTFS) data that other systems should see too. */
  microsoftBasicData: 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7',
} as const;

/**
 * A GUID derived from `seed` and `purpose` (an RFC 9562 version-8 UUID over SHA-256), so an image built twice
 * from the same inputs gets the same disk and partition GUIDs. Without a seed, a random version-4 UUID.
 * @example seededGuid('my-build', 'partition 1') // same value on every call
 */
export function seededGuid(seed: string | undefined, purpose: string): string {
  if (seed === undefined) return randomUUID().toUpperCase();
  const raw = createHash('sha256').update(`kiln-gpt\0${seed}\0${purpose}`).digest().subarray(0, GUID_SIZE);
  raw[6] = (raw[6] & 0x0f) | 0x80; // version 8: custom
  raw[8] = (raw[8] & 0x3f) | 0x80; // RFC 9562 variant
  const hex = raw.toString('hex').toUpperCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
