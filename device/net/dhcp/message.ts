/**
 * DHCPv4 messages (RFC 2131 §2, options from RFC 2132) as bytes: the BOOTP header, the magic cookie, then options.
 * Pure codec; the client's decisions live in client.ts.
 *
 * Decoding is strict about structure (sizes, the cookie, option lengths) and says where it failed; options kiln
 * does not use are skipped. Option overload (52, options inside `sname`/`file`) is not supported: no server kiln
 * has met sets it for the few options a client asks for.
 */
import { formatIPv4, parseIPv4 } from '../../formats/ip.ts';
import { DecodeError } from '../../contract/decode-error.ts';

export const SERVER_PORT = 67;
export const CLIENT_PORT = 68;

const BOOTREQUEST = 1;
const BOOTREPLY = 2;
const HTYPE_ETHERNET = 1;
const MAGIC_COOKIE = 0x63825363;
const HEADER_SIZE = 236;
const OPTIONS_OFFSET = 240;
/** RFC 1542 §2.1: some relays and servers drop BOOTP messages shorter than 300 bytes. */
const MIN_MESSAGE_SIZE = 300;
const FLAG_BROADCAST = 0x8000;

export const MESSAGE_TYPES = ['DISCOVER', 'OFFER', 'REQUEST', 'DECLINE', 'ACK', 'NAK', 'RELEASE', 'INFORM'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

// Option codes (RFC 2132).
export const OPT_PAD = 0;
export const OPT_SUBNET_MASK = 1;
export const OPT_ROUTER = 3;
export const OPT_DNS = 6;
export const OPT_HOSTNAME = 12;
export const OPT_DOMAIN_NAME = 15;
export const OPT_MTU = 26;
export const OPT_REQUESTED_ADDRESS = 50;
export const OPT_LEASE_TIME = 51;
export const OPT_MESSAGE_TYPE = 53;
export const OPT_SERVER_ID = 54;
export const OPT_PARAMETER_LIST = 55;
export const OPT_MESSAGE = 56;
export const OPT_MAX_MESSAGE_SIZE = 57;
export const OPT_RENEWAL_TIME = 58;
export const OPT_REBINDING_TIME = 59;
export const OPT_CLIENT_ID = 61;
export const OPT_END = 255;

export interface DhcpOptions {
  messageType: MessageType;
  subnetMask?: string;
  routers?: string[];
  dnsServers?: string[];
  hostname?: string;
  domainName?: string;
  mtu?: number;
  requestedAddress?: string;
  leaseSeconds?: number;
  serverId?: string;
  parameterList?: number[];
  /** Option 56: why a server sent NAK, or a client DECLINE. */
  message?: string;
  maxMessageSize?: number;
  renewalSeconds?: number;
  rebindingSeconds?: number;
  clientId?: Uint8Array;
}

export interface DhcpMessage {
  op: 'request' | 'reply';
  xid: number;
  /** Seconds since the client began (RFC 2131 §2). */
  secs: number;
  /** Ask the server to broadcast its reply: an interface without an address cannot receive unicast. */
  broadcast: boolean;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  /** Client hardware address, "52:54:00:12:34:56". */
  chaddr: string;
  options: DhcpOptions;
}

/** A DHCP message that cannot be decoded: kiln's one DecodeError, offset at the bad field. */
function dhcpError(reason: string, offset: number): DecodeError {
  return new DecodeError('DHCP', 'message', offset, reason);
}

function macBytes(mac: string): Uint8Array {
  if (!/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(mac)) throw new TypeError(`Expected a MAC address like 52:54:00:12:34:56, found "${mac}"`);
  return Uint8Array.from(mac.split(':').map((h) => parseInt(h, 16)));
}

const ascii = (text: string) => new TextEncoder().encode(text);
const u16 = (n: number) => Uint8Array.of(n >> 8, n & 0xff);
const u32 = (n: number) => Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
const ipList = (list: readonly string[]) => Uint8Array.from(list.flatMap((a) => [...parseIPv4(a)]));

/** The options as (code, data) pairs in the order they are written: message type first (RFC 2131 §4.1 custom). */
function optionEntries(o: DhcpOptions): [number, Uint8Array][] {
  const entries: [number, Uint8Array | undefined][] = [
    [OPT_MESSAGE_TYPE, Uint8Array.of(MESSAGE_TYPES.indexOf(o.messageType) + 1)],
    [OPT_CLIENT_ID, o.clientId],
    [OPT_REQUESTED_ADDRESS, o.requestedAddress === undefined ? undefined : parseIPv4(o.requestedAddress)],
    [OPT_SERVER_ID, o.serverId === undefined ? undefined : parseIPv4(o.serverId)],
    [OPT_LEASE_TIME, o.leaseSeconds === undefined ? undefined : u32(o.leaseSeconds)],
    [OPT_RENEWAL_TIME, o.renewalSeconds === undefined ? undefined : u32(o.renewalSeconds)],
    [OPT_REBINDING_TIME, o.rebindingSeconds === undefined ? undefined : u32(o.rebindingSeconds)],
    [OPT_SUBNET_MASK, o.subnetMask === undefined ? undefined : parseIPv4(o.subnetMask)],
    [OPT_ROUTER, o.routers === undefined ? undefined : ipList(o.routers)],
    [OPT_DNS, o.dnsServers === undefined ? undefined : ipList(o.dnsServers)],
    [OPT_DOMAIN_NAME, o.domainName === undefined ? undefined : ascii(o.domainName)],
    [OPT_MTU, o.mtu === undefined ? undefined : u16(o.mtu)],
    [OPT_HOSTNAME, o.hostname === undefined ? undefined : ascii(o.hostname)],
    [OPT_MAX_MESSAGE_SIZE, o.maxMessageSize === undefined ? undefined : u16(o.maxMessageSize)],
    [OPT_PARAMETER_LIST, o.parameterList === undefined ? undefined : Uint8Array.from(o.parameterList)],
    [OPT_MESSAGE, o.message === undefined ? undefined : ascii(o.message)],
  ];
  return entries.filter((e): e is [number, Uint8Array] => e[1] !== undefined);
}

export function encodeDhcpMessage(message: DhcpMessage): Uint8Array {
  const entries = optionEntries(message.options);
  for (const [code, data] of entries) {
    if (data.length === 0 || data.length > 255) throw new RangeError(`DHCP option ${code}: ${data.length} bytes, expected 1-255`);
  }
  const optionsSize = entries.reduce((n, [, data]) => n + 2 + data.length, 0) + 1;
  const bytes = new Uint8Array(Math.max(MIN_MESSAGE_SIZE, OPTIONS_OFFSET + optionsSize));
  const view = new DataView(bytes.buffer);
  const chaddr = macBytes(message.chaddr);
  bytes[0] = message.op === 'request' ? BOOTREQUEST : BOOTREPLY; // op (1) @0
  bytes[1] = HTYPE_ETHERNET; // htype (1) @1
  bytes[2] = chaddr.length; // hlen (1) @2; hops (1) @3 = 0
  view.setUint32(4, message.xid >>> 0); // xid (4) @4
  view.setUint16(8, Math.min(0xffff, Math.max(0, Math.floor(message.secs)))); // secs (2) @8
  view.setUint16(10, message.broadcast ? FLAG_BROADCAST : 0); // flags (2) @10
  bytes.set(parseIPv4(message.ciaddr), 12); // ciaddr (4) @12
  bytes.set(parseIPv4(message.yiaddr), 16); // yiaddr (4) @16
  bytes.set(parseIPv4(message.siaddr), 20); // siaddr (4) @20
  bytes.set(parseIPv4(message.giaddr), 24); // giaddr (4) @24
  bytes.set(chaddr, 28); // chaddr (16) @28; sname (64) @44 and file (128) @108 stay zero
  view.setUint32(HEADER_SIZE, MAGIC_COOKIE); // magic cookie (4) @236
  let offset = OPTIONS_OFFSET;
  for (const [code, data] of entries) {
    bytes[offset] = code;
    bytes[offset + 1] = data.length;
    bytes.set(data, offset + 2);
    offset += 2 + data.length;
  }
  bytes[offset] = OPT_END; // the rest is PAD (0)
  return bytes;
}

export function decodeDhcpMessage(bytes: Uint8Array): DhcpMessage {
  if (bytes.length < OPTIONS_OFFSET) throw dhcpError(`${bytes.length} bytes, need at least ${OPTIONS_OFFSET}`, 0);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const op = bytes[0];
  if (op !== BOOTREQUEST && op !== BOOTREPLY) throw dhcpError(`op ${op}, expected 1 or 2`, 0);
  if (bytes[1] !== HTYPE_ETHERNET || bytes[2] !== 6) {
    throw dhcpError(`hardware type ${bytes[1]} length ${bytes[2]}, expected Ethernet (1, 6)`, 1);
  }
  const cookie = view.getUint32(HEADER_SIZE);
  if (cookie !== MAGIC_COOKIE) throw dhcpError(`bad magic cookie 0x${cookie.toString(16).padStart(8, '0')}`, HEADER_SIZE);
  const raw = decodeOptions(bytes);
  const typeData = raw.get(OPT_MESSAGE_TYPE);
  if (typeData === undefined) throw dhcpError('no message type (option 53)', OPTIONS_OFFSET);
  const type = MESSAGE_TYPES[typeData.data[0]! - 1];
  if (typeData.data.length !== 1 || type === undefined) {
    throw dhcpError(`message type ${typeData.data[0]} (option 53), expected 1-8`, typeData.offset);
  }
  const ip = (offset: number) => formatIPv4(bytes.subarray(offset, offset + 4));
  return {
    op: op === BOOTREQUEST ? 'request' : 'reply',
    xid: view.getUint32(4),
    secs: view.getUint16(8),
    broadcast: (view.getUint16(10) & FLAG_BROADCAST) !== 0,
    ciaddr: ip(12),
    yiaddr: ip(16),
    siaddr: ip(20),
    giaddr: ip(24),
    chaddr: Array.from(bytes.subarray(28, 34), (b) => b.toString(16).padStart(2, '0')).join(':'),
    options: typedOptions(type, raw),
  };
}

interface RawOption {
  offset: number;
  data: Uint8Array;
}

function decodeOptions(bytes: Uint8Array): Map<number, RawOption> {
  const options = new Map<number, RawOption>();
  let offset = OPTIONS_OFFSET;
  while (offset < bytes.length) {
    const code = bytes[offset]!;
    if (code === OPT_END) return options;
    if (code === OPT_PAD) {
      offset++;
      continue;
    }
    if (offset + 1 >= bytes.length) throw dhcpError(`option ${code} has no length byte`, offset);
    const length = bytes[offset + 1]!;
    if (offset + 2 + length > bytes.length) {
      throw dhcpError(`option ${code} (${length} bytes) runs past the end (${bytes.length})`, offset);
    }
    // RFC 3396: a repeated option continues the first one.
    const data = bytes.subarray(offset + 2, offset + 2 + length);
    const previous = options.get(code);
    options.set(code, previous === undefined ? { offset, data } : { offset: previous.offset, data: Uint8Array.from([...previous.data, ...data]) });
    offset += 2 + length;
  }
  throw dhcpError(`options end without an END option (255)`, bytes.length);
}

function typedOptions(messageType: MessageType, raw: Map<number, RawOption>): DhcpOptions {
  const options: DhcpOptions = { messageType };
  const fixed = (code: number, size: number): Uint8Array | undefined => {
    const option = raw.get(code);
    if (option === undefined) return undefined;
    if (option.data.length !== size) {
      throw dhcpError(`option ${code} has length ${option.data.length}, expected ${size}`, option.offset);
    }
    return option.data;
  };
  const list = (code: number): string[] | undefined => {
    const option = raw.get(code);
    if (option === undefined) return undefined;
    if (option.data.length === 0 || option.data.length % 4 !== 0) {
      throw dhcpError(`option ${code} has length ${option.data.length}, expected a multiple of 4`, option.offset);
    }
    const out: string[] = [];
    for (let i = 0; i < option.data.length; i += 4) out.push(formatIPv4(option.data.subarray(i, i + 4)));
    return out;
  };
  const text = (code: number) => {
    const data = raw.get(code)?.data;
    // Some servers count a trailing NUL in the length.
    return data === undefined ? undefined : new TextDecoder().decode(data).replace(/\0+$/, '');
  };
  const number = (code: number, size: 2 | 4) => {
    const data = fixed(code, size);
    if (data === undefined) return undefined;
    const view = new DataView(data.buffer, data.byteOffset, size);
    return size === 2 ? view.getUint16(0) : view.getUint32(0);
  };
  const address = (code: number) => {
    const data = fixed(code, 4);
    return data === undefined ? undefined : formatIPv4(data);
  };
  const set = <K extends keyof DhcpOptions>(key: K, value: DhcpOptions[K] | undefined) => {
    if (value !== undefined) options[key] = value;
  };
  set('subnetMask', address(OPT_SUBNET_MASK));
  set('routers', list(OPT_ROUTER));
  set('dnsServers', list(OPT_DNS));
  set('hostname', text(OPT_HOSTNAME));
  set('domainName', text(OPT_DOMAIN_NAME));
  set('mtu', number(OPT_MTU, 2));
  set('requestedAddress', address(OPT_REQUESTED_ADDRESS));
  set('leaseSeconds', number(OPT_LEASE_TIME, 4));
  set('serverId', address(OPT_SERVER_ID));
  set('parameterList', raw.has(OPT_PARAMETER_LIST) ? [...raw.get(OPT_PARAMETER_LIST)!.data] : undefined);
  set('message', text(OPT_MESSAGE));
  set('maxMessageSize', number(OPT_MAX_MESSAGE_SIZE, 2));
  set('renewalSeconds', number(OPT_RENEWAL_TIME, 4));
  set('rebindingSeconds', number(OPT_REBINDING_TIME, 4));
  set('clientId', raw.has(OPT_CLIENT_ID) ? Uint8Array.from(raw.get(OPT_CLIENT_ID)!.data) : undefined);
  return options;
}
