/**
 * rtnetlink messages (linux/netlink.h, linux/rtnetlink.h, linux/if_addr.h, linux/if_link.h) as bytes. Pure codec:
 * `device/sys/net.ts` moves the bytes, `rtnl.ts` decides what to send.
 *
 * Netlink is in the host's byte order; every architecture kiln targets (x86_64, aarch64) is little-endian, so the
 * fields are written little-endian explicitly. Addresses inside attributes are network order, as the kernel wants.
 */
import type { Family, Prefix } from './ip.ts';
import { DecodeError } from '../contract/decode-error.ts';

// Message types.
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const RTM_NEWLINK = 16;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;

// Header flags.
export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
/** NLM_F_ROOT | NLM_F_MATCH: every object of the kind, over as many datagrams as it takes, ended by NLMSG_DONE. */
export const NLM_F_DUMP = 0x300;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;

export const AF_INET = 2;
export const AF_INET6 = 10;
export const IFF_UP = 0x1;

// Attributes.
export const IFLA_MTU = 4;
export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const IFA_BROADCAST = 4;
export const IFA_CACHEINFO = 6;
export const RTA_DST = 1;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_PRIORITY = 6;

export const RT_TABLE_MAIN = 254;
/** Route origin, shown by `ip route` as "proto": static (from the config) or dhcp. */
export const RTPROT_STATIC = 4;
export const RTPROT_DHCP = 16;
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;
export const RTN_UNICAST = 1;

/** An address lifetime the kernel never expires (ifa_cacheinfo). */
export const INFINITY_LIFE_TIME = 0xffffffff;

const HEADER_SIZE = 16;
const ATTRIBUTE_HEADER_SIZE = 4;

export interface NetlinkMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  payload: Uint8Array;
}

const align4 = (n: number) => (n + 3) & ~3;

export function familyCode(family: Family): number {
  return family === 4 ? AF_INET : AF_INET6;
}

/** One attribute: rta_len (2) @0, rta_type (2) @2, data, padding to 4 bytes. */
export function encodeAttribute(type: number, data: Uint8Array): Uint8Array {
  const length = ATTRIBUTE_HEADER_SIZE + data.length;
  const bytes = new Uint8Array(align4(length));
  const view = new DataView(bytes.buffer);
  view.setUint16(0, length, true);
  view.setUint16(2, type, true);
  bytes.set(data, ATTRIBUTE_HEADER_SIZE);
  return bytes;
}

export function u32(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value >>> 0, true);
  return bytes;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** nlmsghdr, then the body: nlmsg_len (4) @0, nlmsg_type (2) @4, nlmsg_flags (2) @6, nlmsg_seq (4) @8, nlmsg_pid (4) @12. */
export function encodeMessage(type: number, flags: number, seq: number, body: readonly Uint8Array[]): Uint8Array {
  const payload = concat(body);
  const bytes = new Uint8Array(HEADER_SIZE + align4(payload.length));
  const view = new DataView(bytes.buffer);
  view.setUint32(0, HEADER_SIZE + payload.length, true);
  view.setUint16(4, type, true);
  view.setUint16(6, flags, true);
  view.setUint32(8, seq >>> 0, true);
  view.setUint32(12, 0, true); // to the kernel
  bytes.set(payload, HEADER_SIZE);
  return bytes;
}

/** Every message in one datagram from the kernel. Throws SyntaxError naming the offset of a malformed one. */
export function decodeMessages(bytes: Uint8Array): NetlinkMessage[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const messages: NetlinkMessage[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (bytes.length - offset < HEADER_SIZE) {
      throw new DecodeError('netlink', 'message', offset, `${bytes.length - offset} bytes left, a header needs ${HEADER_SIZE}`);
    }
    const length = view.getUint32(offset, true);
    if (length < HEADER_SIZE || length > bytes.length - offset) {
      throw new DecodeError('netlink', 'message', offset, `length ${length} outside ${HEADER_SIZE}-${bytes.length - offset}`);
    }
    messages.push({
      type: view.getUint16(offset + 4, true),
      flags: view.getUint16(offset + 6, true),
      seq: view.getUint32(offset + 8, true),
      pid: view.getUint32(offset + 12, true),
      payload: bytes.subarray(offset + HEADER_SIZE, offset + length),
    });
    offset += align4(length);
  }
  return messages;
}

/** NLMSG_ERROR's payload: error (4, negative errno, 0 = ack) @0, then the request's header. Returns errno ≥ 0. */
export function decodeAckErrno(message: NetlinkMessage): number {
  if (message.type !== NLMSG_ERROR) throw new TypeError(`Expected an NLMSG_ERROR message, found type ${message.type}`);
  if (message.payload.length < 4) throw new DecodeError('netlink', 'ack', 0, `${message.payload.length} bytes, need 4`);
  const error = new DataView(message.payload.buffer, message.payload.byteOffset, 4).getInt32(0, true);
  return error === 0 ? 0 : -error;
}

export interface LinkChange {
  index: number;
  up?: boolean;
  mtu?: number;
}

/** ifinfomsg: ifi_family (1) @0, pad (1) @1, ifi_type (2) @2, ifi_index (4) @4, ifi_flags (4) @8, ifi_change (4) @12. */
export function encodeLinkChange(seq: number, change: LinkChange): Uint8Array {
  const info = new Uint8Array(16);
  const view = new DataView(info.buffer);
  view.setInt32(4, change.index, true);
  if (change.up !== undefined) {
    view.setUint32(8, change.up ? IFF_UP : 0, true);
    view.setUint32(12, IFF_UP, true); // only the UP flag changes
  }
  const attributes = change.mtu === undefined ? [] : [encodeAttribute(IFLA_MTU, u32(change.mtu))];
  return encodeMessage(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq, [info, ...attributes]);
}

export interface AddressChange {
  index: number;
  address: Prefix;
  /** Seconds; omitted = forever. A DHCP lease's address expires with the lease even if the init stops renewing. */
  validSeconds?: number;
  preferredSeconds?: number;
}

/** ifaddrmsg: ifa_family (1) @0, ifa_prefixlen (1) @1, ifa_flags (1) @2, ifa_scope (1) @3, ifa_index (4) @4. */
export function encodeAddressChange(seq: number, op: 'add' | 'delete', change: AddressChange): Uint8Array {
  const { address } = change;
  const header = new Uint8Array(8);
  header[0] = familyCode(address.family);
  header[1] = address.length;
  new DataView(header.buffer).setUint32(4, change.index, true);
  const attributes = [encodeAttribute(IFA_LOCAL, address.bytes), encodeAttribute(IFA_ADDRESS, address.bytes)];
  if (op === 'add' && address.family === 4 && address.length < 31) {
    attributes.push(encodeAttribute(IFA_BROADCAST, broadcastOf(address)));
  }
  if (op === 'add' && (change.validSeconds !== undefined || change.preferredSeconds !== undefined)) {
    // ifa_cacheinfo: ifa_prefered (4) @0, ifa_valid (4) @4, cstamp (4) @8, tstamp (4) @12 (the last two ignored).
    const valid = change.validSeconds ?? INFINITY_LIFE_TIME;
    const info = concat([u32(change.preferredSeconds ?? valid), u32(valid), u32(0), u32(0)]);
    attributes.push(encodeAttribute(IFA_CACHEINFO, info));
  }
  return op === 'add'
    ? encodeMessage(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, seq, [header, ...attributes])
    : encodeMessage(RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK, seq, [header, ...attributes]);
}

/** RTM_GETADDR dump of every address of every interface: an ifaddrmsg of zeros (any family, any index). */
export function encodeAddressDump(seq: number): Uint8Array {
  return encodeMessage(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, seq, [new Uint8Array(8)]);
}

/** The attributes after a fixed header: rta_len (2) @0, rta_type (2) @2, data; the first of each type wins. */
export function decodeAttributes(bytes: Uint8Array, offset: number): Map<number, Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const attributes = new Map<number, Uint8Array>();
  while (bytes.length - offset >= ATTRIBUTE_HEADER_SIZE) {
    const length = view.getUint16(offset, true);
    if (length < ATTRIBUTE_HEADER_SIZE || length > bytes.length - offset) {
      throw new DecodeError('netlink', 'attribute', offset, `length ${length} outside ${ATTRIBUTE_HEADER_SIZE}-${bytes.length - offset}`);
    }
    const type = view.getUint16(offset + 2, true) & 0x3fff; // without NLA_F_NESTED, NLA_F_NET_BYTEORDER
    if (!attributes.has(type)) attributes.set(type, bytes.subarray(offset + ATTRIBUTE_HEADER_SIZE, offset + length));
    offset += align4(length);
  }
  return attributes;
}

export interface InterfaceAddress {
  /** ifa_index: the interface's index. */
  index: number;
  address: Prefix;
}

/**
 * An RTM_NEWADDR (a dump's entry): ifaddrmsg as in encodeAddressChange, then attributes. The address is IFA_LOCAL
 * (IPv4: this end; IFA_ADDRESS is the peer on point-to-point links) or else IFA_ADDRESS (IPv6 sends only that).
 * Undefined for families other than IPv4 and IPv6.
 */
export function decodeAddressMessage(message: NetlinkMessage): InterfaceAddress | undefined {
  if (message.type !== RTM_NEWADDR) throw new TypeError(`Expected an RTM_NEWADDR message, found type ${message.type}`);
  const { payload } = message;
  if (payload.length < 8) throw new DecodeError('ifaddrmsg', '', 0, `${payload.length} bytes, need 8`);
  const family = payload[0] === AF_INET ? 4 : payload[0] === AF_INET6 ? 6 : undefined;
  if (family === undefined) return undefined;
  const attributes = decodeAttributes(payload, 8);
  const bytes = attributes.get(IFA_LOCAL) ?? attributes.get(IFA_ADDRESS);
  const size = family === 4 ? 4 : 16;
  if (bytes === undefined || bytes.length !== size) {
    throw new DecodeError('RTM_NEWADDR', '', 0, `no ${size}-byte IFA_LOCAL or IFA_ADDRESS`);
  }
  const index = new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(4, true);
  return { index, address: { family, bytes: Uint8Array.from(bytes), length: payload[1]! } };
}

function broadcastOf(address: Prefix): Uint8Array {
  const bytes = Uint8Array.from(address.bytes);
  for (let i = 0; i < 4; i++) {
    const hostBits = Math.max(0, Math.min(8, (i + 1) * 8 - address.length));
    bytes[i]! |= (1 << hostBits) - 1;
  }
  return bytes;
}

export interface RouteChange {
  /** Destination network (host bits clear); length 0 = the default route. */
  destination: Prefix;
  gateway?: Uint8Array;
  index: number;
  metric?: number;
  protocol: number;
}

/**
 * rtmsg: rtm_family (1) @0, rtm_dst_len (1) @1, rtm_src_len (1) @2, rtm_tos (1) @3, rtm_table (1) @4,
 * rtm_protocol (1) @5, rtm_scope (1) @6, rtm_type (1) @7, rtm_flags (4) @8.
 * A route without a gateway is on-link (scope link); through a gateway it is universe.
 */
export function encodeRouteChange(seq: number, op: 'add' | 'delete', route: RouteChange): Uint8Array {
  const header = new Uint8Array(12);
  header[0] = familyCode(route.destination.family);
  header[1] = route.destination.length;
  header[4] = RT_TABLE_MAIN;
  header[5] = route.protocol;
  header[6] = route.gateway === undefined ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
  header[7] = RTN_UNICAST;
  const attributes: Uint8Array[] = [];
  if (route.destination.length > 0) attributes.push(encodeAttribute(RTA_DST, route.destination.bytes));
  if (route.gateway !== undefined) attributes.push(encodeAttribute(RTA_GATEWAY, route.gateway));
  attributes.push(encodeAttribute(RTA_OIF, u32(route.index)));
  if (route.metric !== undefined) attributes.push(encodeAttribute(RTA_PRIORITY, u32(route.metric)));
  return op === 'add'
    ? encodeMessage(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, seq, [header, ...attributes])
    : encodeMessage(RTM_DELROUTE, NLM_F_REQUEST | NLM_F_ACK, seq, [header, ...attributes]);
}
