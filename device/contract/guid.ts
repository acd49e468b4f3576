/**
 * GUIDs as UEFI stores them (GPT entries, EFI variable names and device paths): canonical text and the on-disk
 * "mixed-endian" bytes. Pure; shared by the host's GPT codec and the EFI variable codecs of both sides.
 */
/** Canonical GUID text: 8-4-4-4-12 hex digits, upper case (as sgdisk prints them). */
const GUID_PATTERN = /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/;

/** Size of an on-disk GUID. */
export const GUID_SIZE = 16;

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
