/**
 * EFI variables as Linux's efivarfs shows them (Documentation/filesystems/efivarfs.rst): a file
 * `<Name>-<vendor GUID, lower case>` whose bytes are the attributes (4, LE) then the value. BootOrder is an array
 * of UINT16 entry numbers, BootNext one UINT16 (UEFI 2.10 §3.3). Pure.
 */
import { DecodeError } from '../decode-error.ts';
import { normalizeGuid } from '../guid.ts';

/** The vendor GUID of the Boot#### / BootOrder / BootNext variables. */
export const EFI_GLOBAL_VARIABLE = '8BE4DF61-93CA-11D2-AA0D-00E098032B8C';
export const EFI_VARIABLE_NON_VOLATILE = 0x1;
export const EFI_VARIABLE_BOOTSERVICE_ACCESS = 0x2;
export const EFI_VARIABLE_RUNTIME_ACCESS = 0x4;
/** What boot variables carry: `07 00 00 00` in efivarfs. */
export const BOOT_VARIABLE_ATTRIBUTES = EFI_VARIABLE_NON_VOLATILE | EFI_VARIABLE_BOOTSERVICE_ACCESS | EFI_VARIABLE_RUNTIME_ACCESS;

/** "Boot0003" for entry 3: four upper-case hex digits. */
export function bootEntryName(entry: number): string {
  return `Boot${u16(entry, 'boot entry').toString(16).toUpperCase().padStart(4, '0')}`;
}

/** The efivarfs file name of a variable: "Boot0003-8be4df61-93ca-11d2-aa0d-00e098032b8c". */
export function efivarfsName(name: string, vendor = EFI_GLOBAL_VARIABLE): string {
  return `${name}-${normalizeGuid(vendor).toLowerCase()}`;
}

export interface EfiVariable {
  attributes: number;
  data: Uint8Array;
}

export function encodeEfivarfsFile(variable: EfiVariable): Uint8Array {
  const out = new Uint8Array(4 + variable.data.length);
  new DataView(out.buffer).setUint32(0, variable.attributes >>> 0, true); // attributes (4) @0
  out.set(variable.data, 4); // value @4
  return out;
}

export function decodeEfivarfsFile(bytes: Uint8Array): EfiVariable {
  if (bytes.length < 4) throw new DecodeError('efivarfs', 'file', 0, `${bytes.length} bytes, the attributes alone need 4`);
  return { attributes: new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true), data: bytes.slice(4) };
}

export function encodeBootOrder(entries: readonly number[]): Uint8Array {
  const out = new Uint8Array(entries.length * 2);
  const view = new DataView(out.buffer);
  entries.forEach((e, i) => view.setUint16(i * 2, u16(e, `BootOrder[${i}]`), true));
  return out;
}

export function decodeBootOrder(data: Uint8Array): number[] {
  if (data.length % 2 !== 0) throw new DecodeError('EFI', 'BootOrder', data.length - 1, `${data.length} bytes: not a whole number of UINT16`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return Array.from({ length: data.length / 2 }, (_, i) => view.getUint16(i * 2, true));
}

export function encodeBootNext(entry: number): Uint8Array {
  return encodeBootOrder([entry]);
}

export function decodeBootNext(data: Uint8Array): number {
  if (data.length !== 2) throw new DecodeError('EFI', 'BootNext', 0, `${data.length} bytes, want 2`);
  return data[0]! | (data[1]! << 8);
}

function u16(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) throw new RangeError(`${what} must be 0-65535, not ${value}`);
  return value;
}
