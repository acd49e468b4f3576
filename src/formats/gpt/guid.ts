import { createHash, randomUUID } from 'node:crypto';

/** Canonical GUID text: 8-4-4-4-12 hex digits, upper case (as sgdisk prints them). */
const GUID_PATTERN = /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/;

/** Size of an on-disk GUID. */
export const GUID_SIZE = 16;

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
 * Validates a GUID string and returns it in canonical upper case.
 * @example normalizeGuid('c12a7328-f81f-11d2-ba4b-00a0c93ec93b') // 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B'
 */
export function normalizeGuid(guid: string): string {
  const upper = guid.toUpperCase();
  if (!GUID_PATTERN.test(upper)) throw new TypeError(`Not a GUID: "${guid}" (want 8-4-4-4-12 hex digits)`);
  return upper;
}

/**
 * Writes a GUID in the on-disk "mixed-endian" form: the first three groups little-endian, the last two as
 * written. `C12A7328-F81F-11D2-...` is stored as `28 73 2A C1 1F F8 D2 11 ...`.
 */
export function writeGuid(bytes: Uint8Array, offset: number, guid: string): void {
  const hex = normalizeGuid(guid).replaceAll('-', '');
  const raw = Uint8Array.from({ length: GUID_SIZE }, (_, i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16));
  // time_low (4) @0, time_mid (2) @4, time_hi (2) @6: little-endian
  bytes.set([raw[3], raw[2], raw[1], raw[0], raw[5], raw[4], raw[7], raw[6]], offset);
  // clock_seq (2) @8, node (6) @10: big-endian
  bytes.set(raw.subarray(8), offset + 8);
}

/** Reads a GUID stored by {@link writeGuid}. */
export function readGuid(bytes: Uint8Array, offset: number): string {
  const b = bytes.subarray(offset, offset + GUID_SIZE);
  const order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
  const hex = order
    .map((i) => b[i].toString(16).padStart(2, '0'))
    .join('')
    .toUpperCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The type GUID of an unused partition entry. */
export const NULL_GUID = '00000000-0000-0000-0000-000000000000';

/** True for the all-zero GUID that marks an unused partition entry. */
export function isNullGuid(bytes: Uint8Array, offset: number): boolean {
  return bytes.subarray(offset, offset + GUID_SIZE).every((b) => b === 0);
}

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
