/**
 * EFI_LOAD_OPTION (UEFI 2.10 §3.1.3), the value of a `Boot####` variable:
 *   Attributes (4, LE) @0, FilePathListLength (2, LE) @4, Description (CHAR16, NUL-terminated) @6,
 *   FilePathList (device paths, FilePathListLength bytes), OptionalData (the rest).
 * Pure. The kernel refuses a malformed Boot#### with EINVAL, so the device encodes with this and checks by decoding.
 */
import { DecodeError } from '../decode-error.ts';
import { decodeDevicePath, encodeDevicePath, readUcs2z, ucs2z, type DevicePathNode } from './device-path.ts';

/** The firmware may boot it (an inactive entry stays in the store but is skipped). */
export const LOAD_OPTION_ACTIVE = 0x00000001;
const HEADER = 6;

export interface LoadOption {
  attributes: number;
  /** What the firmware's boot menu shows, e.g. "kiln A (gateway 3f2a…)". */
  description: string;
  filePath: DevicePathNode[];
  optionalData: Uint8Array;
}

export function encodeLoadOption(option: LoadOption): Uint8Array {
  const description = ucs2z(option.description);
  const path = encodeDevicePath(option.filePath);
  if (path.length > 0xffff) throw new RangeError(`device path list of ${path.length} bytes: at most 65535`);
  const out = new Uint8Array(HEADER + description.length + path.length + option.optionalData.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, option.attributes >>> 0, true); // Attributes (4) @0
  view.setUint16(4, path.length, true); // FilePathListLength (2) @4
  out.set(description, HEADER); // Description @6
  out.set(path, HEADER + description.length); // FilePathList
  out.set(option.optionalData, HEADER + description.length + path.length); // OptionalData
  return out;
}

/** Throws DecodeError naming the offset of what does not fit. */
export function decodeLoadOption(bytes: Uint8Array): LoadOption {
  if (bytes.length < HEADER + 2) throw new DecodeError('EFI', 'load option', 0, `${bytes.length} bytes, need at least ${HEADER + 2}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const attributes = view.getUint32(0, true);
  const pathLength = view.getUint16(4, true);
  const description = readUcs2z(bytes, HEADER, bytes.length - HEADER);
  const pathStart = HEADER + (description.length + 1) * 2;
  if (pathStart + pathLength > bytes.length) {
    throw new DecodeError('EFI', 'load option', 4, `FilePathListLength ${pathLength} runs past the end (${bytes.length - pathStart} bytes left)`);
  }
  return {
    attributes,
    description,
    filePath: decodeDevicePath(bytes, pathStart, pathLength),
    optionalData: bytes.slice(pathStart + pathLength),
  };
}
