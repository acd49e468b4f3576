import { describe, expect, it } from 'vitest';
import { formatIPv6, formatPrefix, netmaskToLength, networkOf, parseIPv4, parseIPv6, parsePrefix } from './ip.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('IPv4', () => {
  it('parses dotted quads to network-order bytes', () => {
    expect([...parseIPv4('10.0.2.15')]).toEqual([10, 0, 2, 15]);
  });
  it.each(['10.0.2', '10.0.2.256', '1.2.3.4.5', '01234.1.1.1', 'a.b.c.d', ''])('rejects "%s"', (text) => {
    expect(() => parseIPv4(text)).toThrow(new SyntaxError(`Cannot parse IPv4 address "${text}"`));
  });
  it('turns netmasks into prefix lengths, refusing holes', () => {
    expect(netmaskToLength(parseIPv4('255.255.255.0'))).toBe(24);
    expect(netmaskToLength(parseIPv4('255.255.240.0'))).toBe(20);
    expect(netmaskToLength(parseIPv4('0.0.0.0'))).toBe(0);
    expect(() => netmaskToLength(parseIPv4('255.0.255.0'))).toThrow(new RangeError('Netmask 255.0.255.0 is not contiguous'));
  });
});

describe('IPv6', () => {
  it.each([
    ['::', '00000000000000000000000000000000'],
    ['::1', '00000000000000000000000000000001'],
    ['fd00::10', 'fd000000000000000000000000000010'],
    ['2001:db8:0:0:1:0:0:1', '20010db8000000000001000000000001'],
    ['fe80::5054:ff:fe12:3456', 'fe80000000000000505400fffe123456'],
    ['::ffff:192.0.2.1', '00000000000000000000ffffc0000201'],
    ['64:ff9b::10.0.0.1', '0064ff9b0000000000000000 0a000001'.replace(' ', '')],
    ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
  ])('parses %s', (text, bytes) => {
    expect(hex(parseIPv6(text))).toBe(bytes);
  });
  it.each(['1:2:3:4:5:6:7', '1::2::3', 'fd00::10000', '1:2:3:4:5:6:7:8:9', '::g', 'fd00:::1'])('rejects "%s"', (text) => {
    expect(() => parseIPv6(text)).toThrow(new SyntaxError(`Cannot parse IPv6 address "${text}"`));
  });
  it('formats as RFC 5952 says: lower case, the longest zero run as ::, a single zero group kept', () => {
    expect(formatIPv6(parseIPv6('2001:DB8:0:0:1:0:0:1'))).toBe('2001:db8::1:0:0:1');
    expect(formatIPv6(parseIPv6('2001:db8:0:1:1:1:1:1'))).toBe('2001:db8:0:1:1:1:1:1');
    expect(formatIPv6(parseIPv6('::'))).toBe('::');
    expect(formatIPv6(parseIPv6('fd00::10'))).toBe('fd00::10');
  });
});

describe('prefixes', () => {
  it('parses and formats address/length for both families', () => {
    expect(formatPrefix(parsePrefix('192.168.1.10/24'))).toBe('192.168.1.10/24');
    expect(formatPrefix(parsePrefix('fd00::10/64'))).toBe('fd00::10/64');
  });
  it('says what is wrong with a bad prefix', () => {
    expect(() => parsePrefix('10.0.0.1')).toThrow('Cannot parse "10.0.0.1": expected address/prefix-length');
    expect(() => parsePrefix('10.0.0.1/33')).toThrow('Cannot parse "10.0.0.1/33": prefix length must be 0-32');
    expect(() => parsePrefix('fd00::1/129')).toThrow('Cannot parse "fd00::1/129": prefix length must be 0-128');
  });
  it('clears host bits for a route destination', () => {
    expect(formatPrefix(networkOf(parsePrefix('10.1.2.3/20')))).toBe('10.1.0.0/20');
    expect(formatPrefix(networkOf(parsePrefix('fd00:1:2:3::9/48')))).toBe('fd00:1:2::/48');
    expect(formatPrefix(networkOf(parsePrefix('10.1.2.3/0')))).toBe('0.0.0.0/0');
  });
});
