import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../contract/decode-error.ts';
import { decodeDhcpMessage, encodeDhcpMessage, type DhcpMessage } from './message.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const bytes = (text: string) => Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'));

/** A BOOTP message: the fixed header (236 bytes, sname and file zero), the magic cookie, options, zero padding. */
function message(header: string, options: string, size = 300): Uint8Array {
  const out = new Uint8Array(size);
  const head = bytes(header);
  out.set(head, 0);
  out.set(bytes('63825363'), 236);
  out.set(bytes(options), 240);
  return out;
}

const discover: DhcpMessage = {
  op: 'request',
  xid: 0x12345678,
  secs: 3,
  broadcast: true,
  ciaddr: '0.0.0.0',
  yiaddr: '0.0.0.0',
  siaddr: '0.0.0.0',
  giaddr: '0.0.0.0',
  chaddr: '52:54:00:12:34:56',
  options: {
    messageType: 'DISCOVER',
    clientId: Uint8Array.of(1, 0x52, 0x54, 0, 0x12, 0x34, 0x56),
    hostname: 'dev',
    maxMessageSize: 1500,
    parameterList: [1, 3, 6, 51],
  },
};

describe('encodeDhcpMessage', () => {
  it('writes a DISCOVER byte for byte: header, cookie, message type first, END, padded to 300 bytes', () => {
    const encoded = encodeDhcpMessage(discover);
    expect(encoded.length).toBe(300);
    expect(hex(encoded)).toBe(
      hex(
        message(
          `01 01 06 00  12345678  0003 8000  00000000 00000000 00000000 00000000  525400123456`,
          `350101  3d07 01525400123456  0c03 646576  3902 05dc  3704 01030633  ff`,
        ),
      ),
    );
  });

  it('a REQUEST in SELECTING names the offered address and the server', () => {
    const encoded = encodeDhcpMessage({ ...discover, secs: 0, options: { messageType: 'REQUEST', requestedAddress: '10.0.2.15', serverId: '10.0.2.2' } });
    expect(hex(encoded.subarray(240, 256))).toBe('350103' + '32040a00020f' + '36040a000202' + 'ff');
  });

  it('a renewal carries the client address in ciaddr and no broadcast flag', () => {
    const encoded = encodeDhcpMessage({ ...discover, broadcast: false, ciaddr: '10.0.2.15', options: { messageType: 'REQUEST' } });
    expect(hex(encoded.subarray(10, 16))).toBe('0000' + '0a00020f');
  });

  it('refuses an option that does not fit its length byte', () => {
    expect(() => encodeDhcpMessage({ ...discover, options: { messageType: 'DISCOVER', hostname: 'x'.repeat(256) } })).toThrow(
      new RangeError('DHCP option 12: 256 bytes, expected 1-255'),
    );
  });

  it('round-trips through the decoder', () => {
    expect(decodeDhcpMessage(encodeDhcpMessage(discover))).toEqual(discover);
  });
});

// An OFFER as dnsmasq 2.90 sent it to kiln's client (captured by device/testing/net-judge.ts), options in its order.
const dnsmasqOffer = message(
  `02 01 06 00  dbd10994  0000 8000  00000000 c0000239 c0000201 00000000  3edae2c1b46c`,
  `350102  3604 c0000201  3304 00000078  3a04 0000003c  3b04 00000069  0104 ffffff00  1c04 c00002ff  0304 c0000201  ff`,
);

describe('decodeDhcpMessage', () => {
  it('reads what dnsmasq sends', () => {
    expect(decodeDhcpMessage(dnsmasqOffer)).toEqual({
      op: 'reply',
      xid: 0xdbd10994,
      secs: 0,
      broadcast: true,
      ciaddr: '0.0.0.0',
      yiaddr: '192.0.2.57',
      siaddr: '192.0.2.1',
      giaddr: '0.0.0.0',
      chaddr: '3e:da:e2:c1:b4:6c',
      options: {
        messageType: 'OFFER',
        serverId: '192.0.2.1',
        leaseSeconds: 120,
        renewalSeconds: 60,
        rebindingSeconds: 105,
        subnetMask: '255.255.255.0',
        routers: ['192.0.2.1'],
      },
    });
  });

  it('joins a split option (RFC 3396) and skips PAD and unknown options', () => {
    const decoded = decodeDhcpMessage(message(`02 01 06 00 00000001`, `350105  00 00  0604 0a000203  0604 08080808  fa02 abcd  ff`));
    expect(decoded.options.dnsServers).toEqual(['10.0.2.3', '8.8.8.8']);
  });

  it('drops a trailing NUL some servers count in text options', () => {
    expect(decodeDhcpMessage(message(`02 01 06 00`, `350105  0f05 6c616e00 00  ff`)).options.domainName).toBe('lan');
  });

  const cases: [string, Uint8Array, string, number][] = [
    ['a short message', dnsmasqOffer.subarray(0, 239), '239 bytes, need at least 240', 0],
    ['a bad op', Uint8Array.from(dnsmasqOffer, (b, i) => (i === 0 ? 3 : b)), 'op 3, expected 1 or 2', 0],
    [
      'a hardware type other than Ethernet',
      Uint8Array.from(dnsmasqOffer, (b, i) => (i === 1 ? 6 : b)),
      'hardware type 6 length 6, expected Ethernet (1, 6)',
      1,
    ],
    ['a flipped cookie byte', Uint8Array.from(dnsmasqOffer, (b, i) => (i === 237 ? 0x83 : b)), 'bad magic cookie 0x63835363', 236],
    ['no message type', message(`02 01 06 00`, `3304 00000078 ff`), 'no message type (option 53)', 240],
    ['an unknown message type', message(`02 01 06 00`, `350109 ff`), 'message type 9 (option 53), expected 1-8', 240],
    ['an option running past the end', dnsmasqOffer.subarray(0, 247), 'option 54 (4 bytes) runs past the end (247)', 243],
    ['an option without its length byte', dnsmasqOffer.subarray(0, 250), 'option 51 has no length byte', 249],
    ['a lease time of 3 bytes', message(`02 01 06 00`, `350102 3303 000078 ff`), 'option 51 has length 3, expected 4', 243],
    ['a router list of 6 bytes', message(`02 01 06 00`, `350102 0306 0a0002020a00 ff`), 'option 3 has length 6, expected a multiple of 4', 243],
    ['no END', message(`02 01 06 00`, `350102`, 243), 'options end without an END option (255)', 243],
  ];
  it.each(cases)('says where it fails on %s', (_, input, text, offset) => {
    let error: unknown;
    try {
      decodeDhcpMessage(input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DecodeError);
    expect((error as DecodeError).message).toBe(`Cannot decode DHCP message at 0x${offset.toString(16)}: ${text}`);
    expect((error as DecodeError).offset).toBe(offset);
  });
});
