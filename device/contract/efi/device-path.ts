/**
 * UEFI device paths (UEFI 2.10 §10.3), the part of a boot entry that says where its loader is: a list of nodes, each
 * `type (1) @0, subType (1) @1, length (2, LE, header included) @2, data`, ended by the End Entire node
 * `7F FF 04 00`. kiln's boot entries need two nodes — the GPT partition (Media/Hard Drive) and the file on it
 * (Media/File Path) — and read any other node back as opaque bytes. Pure: shared by the device's update stage
 * and the host. Written here rather than with efivar's library: no native code on the device, and the format's
 * part that kiln needs is two node types.
 */
import { DecodeError } from '../decode-error.ts';
import { readGuid, writeGuid } from '../guid.ts';

export const DEVICE_PATH_MEDIA = 0x04;
export const MEDIA_HARD_DRIVE = 0x01;
export const MEDIA_FILE_PATH = 0x04;
export const DEVICE_PATH_END = 0x7f;
export const END_ENTIRE = 0xff;
const NODE_HEADER = 4;
/** Media/Hard Drive node: header + number (4) + start (8) + size (8) + signature (16) + MBR type (1) + signature type (1). */
const HARD_DRIVE_LENGTH = 42;
/** MBRType 0x02: a GPT disk; SignatureType 0x02: the signature is the partition's unique GUID. */
const MBR_TYPE_GPT = 0x02;
const SIGNATURE_TYPE_GUID = 0x02;

export type DevicePathNode =
  /** A GPT partition: its 1-based number, first LBA and size in LBAs, and its unique (not type) GUID. */
  | { kind: 'hard-drive'; partitionNumber: number; startLba: number; sizeLba: number; partitionGuid: string }
  /** A file on that partition, with backslashes: `\EFI\BOOT\BOOTX64.EFI`. */
  | { kind: 'file'; path: string }
  | { kind: 'other'; type: number; subType: number; data: Uint8Array };

/** The nodes, each as UEFI lays it out, then the End Entire node. */
export function encodeDevicePath(nodes: readonly DevicePathNode[]): Uint8Array {
  const parts = nodes.map(encodeNode);
  parts.push(Uint8Array.of(DEVICE_PATH_END, END_ENTIRE, NODE_HEADER, 0));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function encodeNode(node: DevicePathNode): Uint8Array {
  switch (node.kind) {
    case 'hard-drive': {
      const out = new Uint8Array(HARD_DRIVE_LENGTH);
      const view = new DataView(out.buffer);
      header(view, DEVICE_PATH_MEDIA, MEDIA_HARD_DRIVE, HARD_DRIVE_LENGTH);
      view.setUint32(4, node.partitionNumber, true); // PartitionNumber (4) @4
      view.setBigUint64(8, lba(node.startLba, 'startLba'), true); // PartitionStart (8) @8
      view.setBigUint64(16, lba(node.sizeLba, 'sizeLba'), true); // PartitionSize (8) @16
      writeGuid(out, 24, node.partitionGuid); // PartitionSignature (16) @24
      out[40] = MBR_TYPE_GPT; // MBRType (1) @40
      out[41] = SIGNATURE_TYPE_GUID; // SignatureType (1) @41
      return out;
    }
    case 'file': {
      const name = ucs2z(node.path);
      const out = new Uint8Array(NODE_HEADER + name.length);
      header(new DataView(out.buffer), DEVICE_PATH_MEDIA, MEDIA_FILE_PATH, out.length);
      out.set(name, NODE_HEADER); // PathName (CHAR16, NUL-terminated) @4
      return out;
    }
    case 'other': {
      const out = new Uint8Array(NODE_HEADER + node.data.length);
      header(new DataView(out.buffer), node.type, node.subType, out.length);
      out.set(node.data, NODE_HEADER);
      return out;
    }
  }
}

function header(view: DataView, type: number, subType: number, length: number): void {
  if (length > 0xffff) throw new RangeError(`device path node of ${length} bytes: at most 65535`);
  view.setUint8(0, type); // Type (1) @0
  view.setUint8(1, subType); // SubType (1) @1
  view.setUint16(2, length, true); // Length (2) @2
}

function lba(value: number, what: string): bigint {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${what} must be a whole number of sectors, not ${value}`);
  return BigInt(value);
}

/** UCS-2 with a NUL terminator, as UEFI's CHAR16 strings. */
export function ucs2z(text: string): Uint8Array {
  const out = new Uint8Array((text.length + 1) * 2);
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdfff) throw new TypeError(`"${text}": UCS-2 has no surrogate pairs (character ${i})`);
    out[i * 2] = unit & 0xff;
    out[i * 2 + 1] = unit >> 8;
  }
  return out;
}

/**
 * The nodes of the device path at `offset`, up to (not including) the End Entire node, which must come within
 * `length` bytes. Throws DecodeError naming the offset of a node that does not fit.
 */
export function decodeDevicePath(bytes: Uint8Array, offset = 0, length = bytes.length - offset): DevicePathNode[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = offset + length;
  const nodes: DevicePathNode[] = [];
  for (let at = offset; ;) {
    if (at + NODE_HEADER > end) throw new DecodeError('EFI', 'device path', at, `${end - at} bytes left, a node header needs ${NODE_HEADER} (no end node)`);
    const type = bytes[at]!;
    const subType = bytes[at + 1]!;
    const size = view.getUint16(at + 2, true);
    if (size < NODE_HEADER || at + size > end) throw new DecodeError('EFI', 'device path', at, `node length ${size} outside ${NODE_HEADER}-${end - at}`);
    if (type === DEVICE_PATH_END && subType === END_ENTIRE) return nodes;
    const data = bytes.subarray(at + NODE_HEADER, at + size);
    if (
      type === DEVICE_PATH_MEDIA &&
      subType === MEDIA_HARD_DRIVE &&
      size === HARD_DRIVE_LENGTH &&
      data[36] === MBR_TYPE_GPT &&
      data[37] === SIGNATURE_TYPE_GUID
    ) {
      nodes.push({
        kind: 'hard-drive',
        partitionNumber: view.getUint32(at + 4, true),
        startLba: Number(view.getBigUint64(at + 8, true)),
        sizeLba: Number(view.getBigUint64(at + 16, true)),
        partitionGuid: readGuid(bytes, at + 24),
      });
    } else if (type === DEVICE_PATH_MEDIA && subType === MEDIA_FILE_PATH) {
      nodes.push({ kind: 'file', path: readUcs2z(bytes, at + NODE_HEADER, size - NODE_HEADER, at) });
    } else {
      nodes.push({ kind: 'other', type, subType, data: data.slice() });
    }
    at += size;
  }
}

/** A NUL-terminated CHAR16 string within `length` bytes at `offset`; `node` names where for errors. */
export function readUcs2z(bytes: Uint8Array, offset: number, length: number, node = offset): string {
  let text = '';
  for (let i = 0; i + 1 < length; i += 2) {
    const unit = bytes[offset + i]! | (bytes[offset + i + 1]! << 8);
    if (unit === 0) return text;
    text += String.fromCharCode(unit);
  }
  throw new DecodeError('EFI', 'string', node, `no NUL terminator within ${length} bytes`);
}
