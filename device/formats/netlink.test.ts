import { describe, expect, it } from 'vitest';
import { parsePrefix, parseIPv4 } from './ip.ts';
import {
  NLMSG_ERROR,
  RTPROT_DHCP,
  RTPROT_STATIC,
  RTM_NEWADDR,
  decodeAckErrno,
  decodeAddressMessage,
  decodeMessages,
  encodeAddressChange,
  encodeAddressDump,
  encodeLinkChange,
  encodeRouteChange,
} from './netlink.ts';
import { DecodeError } from '../contract/decode-error.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const bytes = (text: string) => Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'));

// Golden bytes laid out as iproute2 sends the same requests (checked with `strace -xx ip ...`), except the flags:
// kiln replaces (NLM_F_REPLACE) where `ip ... add` insists on a new object (NLM_F_EXCL).
describe('rtnetlink requests', () => {
  it('link up with an MTU: ifinfomsg with IFF_UP in flags and change, then IFLA_MTU', () => {
    expect(hex(encodeLinkChange(7, { index: 2, up: true, mtu: 1400 }))).toBe(
      hex(
        bytes(`
      28000000 1000 0500 07000000 00000000
      00 00 0000 02000000 01000000 01000000
      0800 0400 78050000`),
      ),
    );
  });

  it('link down changes only the UP flag', () => {
    const message = encodeLinkChange(1, { index: 3, up: false });
    expect(hex(message.subarray(16))).toBe('00000000030000000000000001000000');
  });

  it('IPv4 address: IFA_LOCAL, IFA_ADDRESS, IFA_BROADCAST, and the lease as its lifetime', () => {
    expect(hex(encodeAddressChange(9, 'add', { index: 2, address: parsePrefix('10.0.2.15/24'), validSeconds: 86400 }))).toBe(
      hex(
        bytes(`
      44000000 1400 0505 09000000 00000000
      02 18 00 00 02000000
      0800 0200 0a00020f
      0800 0100 0a00020f
      0800 0400 0a0002ff
      1400 0600 80510100 80510100 00000000 00000000`),
      ),
    );
  });

  it('IPv6 address: no broadcast, no lifetime when none is given', () => {
    expect(hex(encodeAddressChange(1, 'add', { index: 2, address: parsePrefix('fd00::10/64') }))).toBe(
      hex(
        bytes(`
      40000000 1400 0505 01000000 00000000
      0a 40 00 00 02000000
      1400 0200 fd000000000000000000000000000010
      1400 0100 fd000000000000000000000000000010`),
      ),
    );
  });

  it('address delete carries the address only', () => {
    const message = encodeAddressChange(4, 'delete', { index: 2, address: parsePrefix('10.0.2.15/24'), validSeconds: 5 });
    expect(hex(message)).toBe(
      hex(
        bytes(`
      28000000 1500 0500 04000000 00000000
      02 18 00 00 02000000
      0800 0200 0a00020f
      0800 0100 0a00020f`),
      ),
    );
  });

  it('a /31 and /32 get no broadcast address', () => {
    expect(encodeAddressChange(1, 'add', { index: 2, address: parsePrefix('10.0.0.1/31') }).length).toBe(40);
    expect(encodeAddressChange(1, 'add', { index: 2, address: parsePrefix('10.0.0.1/32') }).length).toBe(40);
  });

  it('route through a gateway: rtmsg (main table, universe scope, unicast), RTA_DST, RTA_GATEWAY, RTA_OIF', () => {
    const route = { destination: parsePrefix('198.51.100.0/24'), gateway: parseIPv4('192.0.2.1'), index: 1, protocol: RTPROT_STATIC };
    expect(hex(encodeRouteChange(3, 'add', route))).toBe(
      hex(
        bytes(`
      34000000 1800 0505 03000000 00000000
      02 18 00 00 fe 04 00 01 00000000
      0800 0100 c6336400
      0800 0500 c0000201
      0800 0400 01000000`),
      ),
    );
  });

  it('default route with a metric: no RTA_DST, RTA_PRIORITY last', () => {
    const route = { destination: parsePrefix('0.0.0.0/0'), gateway: parseIPv4('10.0.2.2'), index: 2, metric: 1026, protocol: RTPROT_DHCP };
    expect(hex(encodeRouteChange(5, 'delete', route))).toBe(
      hex(
        bytes(`
      34000000 1900 0500 05000000 00000000
      02 00 00 00 fe 10 00 01 00000000
      0800 0500 0a000202
      0800 0400 02000000
      0800 0600 02040000`),
      ),
    );
  });

  it('on-link route (no gateway) has link scope', () => {
    const message = encodeRouteChange(1, 'add', { destination: parsePrefix('10.9.0.0/16'), index: 2, protocol: RTPROT_STATIC });
    expect(message[16 + 6]).toBe(253);
  });
});

describe('decodeMessages', () => {
  const ack = (seq: number, error: number) => {
    const b = new Uint8Array(36);
    const v = new DataView(b.buffer);
    v.setUint32(0, 36, true);
    v.setUint16(4, NLMSG_ERROR, true);
    v.setUint32(8, seq, true);
    v.setInt32(16, error, true);
    return b;
  };

  it("splits a datagram into messages and reads an ack's errno", () => {
    const datagram = new Uint8Array([...ack(1, 0), ...ack(2, -17)]);
    const messages = decodeMessages(datagram);
    expect(messages.map((m) => [m.type, m.seq, decodeAckErrno(m)])).toEqual([
      [2, 1, 0],
      [2, 2, 17],
    ]);
  });

  it('names the offset of a truncated header', () => {
    expect(() => decodeMessages(new Uint8Array([...ack(1, 0), 1, 2, 3]))).toThrow(new DecodeError('netlink', 'message', 36, '3 bytes left, a header needs 16'));
  });

  it('names the offset of a length that does not fit', () => {
    const datagram = ack(1, 0);
    datagram[0] = 37; // one byte more than there is
    expect(() => decodeMessages(datagram)).toThrow(new DecodeError('netlink', 'message', 0, 'length 37 outside 16-36'));
    datagram[0] = 15;
    expect(() => decodeMessages(datagram)).toThrow(new DecodeError('netlink', 'message', 0, 'length 15 outside 16-36'));
  });

  it('refuses to read an errno from anything but NLMSG_ERROR, or from a short one', () => {
    const [done] = decodeMessages(Uint8Array.from([16, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]));
    expect(() => decodeAckErrno(done!)).toThrow(new TypeError('Expected an NLMSG_ERROR message, found type 3'));
    const [short] = decodeMessages(Uint8Array.from([18, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    expect(() => decodeAckErrno(short!)).toThrow(new DecodeError('netlink', 'ack', 0, '2 bytes, need 4'));
  });
});

describe('address dump', () => {
  it('request: RTM_GETADDR with NLM_F_REQUEST | NLM_F_DUMP and an ifaddrmsg of zeros, as `ip addr` sends it', () => {
    expect(hex(encodeAddressDump(5))).toBe(
      hex(
        bytes(`
      18000000 1600 0103 05000000 00000000
      00 00 00 00 00000000`),
      ),
    );
  });

  // Payloads of a Linux 6.x dump (v0 at index 3, up, no carrier): IPv4 with IFA_ADDRESS, IFA_LOCAL, IFA_LABEL,
  // IFA_FLAGS, IFA_CACHEINFO; IPv6 with IFA_ADDRESS, IFA_CACHEINFO, IFA_FLAGS.
  const ipv4 = bytes('021880000300000008000100c000020a08000200c000020a0700030076300000080008008000000014000600ffffffffffffffff60471a0060471a00');
  const ipv6 = bytes('0a4082000300000014000100fd00000000000000000000000000001014000600ffffffffffffffff60471a0060471a000800080082000000');
  const message = (payload: Uint8Array) => ({ type: RTM_NEWADDR, flags: 2, seq: 5, pid: 0, payload });

  it("reads the index and the address with its prefix length from the kernel's RTM_NEWADDR", () => {
    expect(decodeAddressMessage(message(ipv4))).toEqual({ index: 3, address: parsePrefix('192.0.2.10/24') });
    expect(decodeAddressMessage(message(ipv6))).toEqual({ index: 3, address: parsePrefix('fd00::10/64') });
  });

  it('prefers IFA_LOCAL over IFA_ADDRESS (the peer, on a point-to-point link)', () => {
    const peer = Uint8Array.from(ipv4);
    peer.set([198, 51, 100, 1], 12); // IFA_ADDRESS data @12
    expect(decodeAddressMessage(message(peer))!.address).toEqual(parsePrefix('192.0.2.10/24'));
  });

  it('skips families other than IPv4 and IPv6; names what is malformed', () => {
    const other = Uint8Array.from(ipv4);
    other[0] = 17; // AF_PACKET
    expect(decodeAddressMessage(message(other))).toBeUndefined();
    const long = Uint8Array.from(ipv4);
    long[8] = 0x40; // the first attribute's rta_len @8: 64, past the end
    expect(() => decodeAddressMessage(message(long))).toThrow('Cannot decode netlink attribute at 0x8: length 64 outside 4-52');
    expect(() => decodeAddressMessage(message(ipv4.subarray(0, 6)))).toThrow('Cannot decode ifaddrmsg at 0x0: 6 bytes, need 8');
    expect(() => decodeAddressMessage(message(ipv6.subarray(0, 8)))).toThrow('Cannot decode RTM_NEWADDR at 0x0: no 16-byte IFA_LOCAL or IFA_ADDRESS');
    expect(() => decodeAddressMessage({ ...message(ipv4), type: NLMSG_ERROR })).toThrow('Expected an RTM_NEWADDR message, found type 2');
  });
});
