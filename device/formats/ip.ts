/**
 * IP addresses as the kernel takes them (network-order bytes) and as people write them. Pure.
 *
 * The config schema already checked the shape of every address; these parsers still throw `SyntaxError` on bad
 * text, because DHCP and the SNTP code hand them strings too and a silent zero address would be worse.
 */

export type Family = 4 | 6;

export interface Address {
  family: Family;
  /** 4 or 16 bytes, network order. */
  bytes: Uint8Array;
}

export interface Prefix extends Address {
  /** Prefix length: 0-32 (IPv4) or 0-128 (IPv6). */
  length: number;
}

export function parseIPv4(text: string): Uint8Array {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) {
    throw new SyntaxError(`Cannot parse IPv4 address "${text}"`);
  }
  return Uint8Array.from(parts.map(Number));
}

export function parseIPv6(text: string): Uint8Array {
  const bad = () => new SyntaxError(`Cannot parse IPv6 address "${text}"`);
  let body = text;
  const tail: number[] = [];
  // A dotted IPv4 tail (::ffff:1.2.3.4) fills the last 32 bits.
  if (body.includes('.')) {
    const lastColon = body.lastIndexOf(':');
    if (lastColon < 0) throw bad();
    const v4 = parseIPv4(body.slice(lastColon + 1));
    tail.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    body = body.slice(0, lastColon + 1);
    if (!body.endsWith('::')) body = body.slice(0, -1);
  }
  const halves = body.split('::');
  if (halves.length > 2) throw bad();
  const group = (g: string): number => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw bad();
    return parseInt(g, 16);
  };
  const head = halves[0] === '' ? [] : halves[0]!.split(':').map(group);
  const rest = halves.length === 2 ? (halves[1] === '' ? [] : halves[1]!.split(':').map(group)) : [];
  const total = head.length + rest.length + tail.length;
  let groups: number[];
  if (halves.length === 2) {
    if (total > 7) throw bad();
    groups = [...head, ...new Array<number>(8 - total).fill(0), ...rest, ...tail];
  } else {
    if (total !== 8) throw bad();
    groups = [...head, ...tail];
  }
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[i * 2] = g >> 8;
    bytes[i * 2 + 1] = g & 0xff;
  });
  return bytes;
}

export function parseAddress(text: string): Address {
  return text.includes(':') ? { family: 6, bytes: parseIPv6(text) } : { family: 4, bytes: parseIPv4(text) };
}

/** "192.168.1.10/24" or "fd00::10/64". */
export function parsePrefix(text: string): Prefix {
  const slash = text.indexOf('/');
  if (slash < 0) throw new SyntaxError(`Cannot parse "${text}": expected address/prefix-length`);
  const address = parseAddress(text.slice(0, slash));
  const lengthText = text.slice(slash + 1);
  const length = Number(lengthText);
  const max = address.family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(lengthText) || length > max) {
    throw new SyntaxError(`Cannot parse "${text}": prefix length must be 0-${max}`);
  }
  return { ...address, length };
}

export function formatIPv4(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 4)).join('.');
}

/** RFC 5952 text: lower case, the longest run (2+) of zero groups written "::". */
export function formatIPv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

export function formatAddress(address: Address): string {
  return address.family === 4 ? formatIPv4(address.bytes) : formatIPv6(address.bytes);
}

/** A netmask (255.255.255.0) as a prefix length (24); throws RangeError for a mask with holes. */
export function netmaskToLength(mask: Uint8Array): number {
  let bits = 0;
  let ended = false;
  for (const byte of mask) {
    for (let bit = 7; bit >= 0; bit--) {
      const set = (byte >> bit) & 1;
      if (set && ended) throw new RangeError(`Netmask ${formatIPv4(mask)} is not contiguous`);
      if (set) bits++;
      else ended = true;
    }
  }
  return bits;
}

/** The network part of an address: host bits cleared (what a route's destination must be). */
export function networkOf(prefix: Prefix): Prefix {
  const bytes = Uint8Array.from(prefix.bytes);
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix.length - i * 8));
    bytes[i]! &= (0xff << (8 - keep)) & 0xff;
  }
  return { family: prefix.family, bytes, length: prefix.length };
}

export function formatPrefix(prefix: Prefix): string {
  return `${formatAddress(prefix)}/${prefix.length}`;
}
