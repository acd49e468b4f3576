import { describe, expect, it } from 'vitest';
import {
  SntpReplyError,
  checkReply,
  clockSample,
  decodeSntpPacket,
  encodeSntpPacket,
  encodeSntpRequest,
  fromNtp,
  referenceText,
  toNtp,
  type SntpPacket,
} from './sntp.ts';
import { DecodeError } from '../contract/decode-error.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const bytes = (text: string) => Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'));

const sent = { seconds: 0xeb1c8e00, fraction: 0x80000123 };
// A reply as a stratum-2 server writes it: LI 0 VN 4 mode 4, poll 6, precision -20, root delay 1/32 s,
// dispersion 1/16 s, reference 10.0.2.2, our transmit timestamp echoed as originate.
const replyBytes = bytes(`
  24 02 06 ec  00000800  00001000  0a000202
  eb1c8d00 00000000
  eb1c8e00 80000123
  eb1c8e01 40000000
  eb1c8e01 40100000`);
const reply: SntpPacket = {
  leap: 0,
  version: 4,
  mode: 4,
  stratum: 2,
  poll: 6,
  precision: -20,
  rootDelay: 1 / 32,
  rootDispersion: 1 / 16,
  referenceId: 0x0a000202,
  reference: { seconds: 0xeb1c8d00, fraction: 0 },
  originate: sent,
  receive: { seconds: 0xeb1c8e01, fraction: 0x40000000 },
  transmit: { seconds: 0xeb1c8e01, fraction: 0x40100000 },
};

describe('SNTP packets', () => {
  it('a request: 0x23 (LI 0, version 4, mode 3), zeros, and the transmit timestamp at offset 40', () => {
    expect(hex(encodeSntpRequest(sent))).toBe(hex(bytes(`23 000000 ${'00'.repeat(36)} eb1c8e00 80000123`)));
  });

  it('decodes a server reply field by field, and encodes it back to the same bytes', () => {
    expect(decodeSntpPacket(replyBytes)).toEqual(reply);
    expect(hex(encodeSntpPacket(reply))).toBe(hex(replyBytes));
  });

  it('ignores what follows the 48 bytes (key id and digest)', () => {
    expect(decodeSntpPacket(new Uint8Array([...replyBytes, 0, 0, 0, 1, ...new Array(16).fill(7)]))).toEqual(reply);
  });

  it('refuses a short packet, saying how short', () => {
    let error: unknown;
    try {
      decodeSntpPacket(replyBytes.subarray(0, 47));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DecodeError);
    expect((error as DecodeError).message).toBe('Cannot decode SNTP packet at 0x0: 47 bytes, need 48');
  });
});

describe('NTP timestamps', () => {
  it('1970 is 2208988800 s after 1900', () => {
    expect(toNtp(0)).toEqual({ seconds: 2_208_988_800, fraction: 0 });
    expect(fromNtp({ seconds: 2_208_988_800, fraction: 0x8000_0000 })).toBe(500);
  });
  it('wraps in 2036 and reads the top-bit-clear era as 2036-2104 (RFC 4330 §3)', () => {
    const wrap = Date.UTC(2036, 1, 7, 6, 28, 16);
    expect(toNtp(wrap)).toEqual({ seconds: 0, fraction: 0 });
    expect(fromNtp({ seconds: 0, fraction: 0 })).toBe(wrap);
    expect(fromNtp(toNtp(Date.UTC(2026, 10, 25)))).toBe(Date.UTC(2026, 10, 25));
    expect(fromNtp(toNtp(Date.UTC(2040, 0, 1, 0, 0, 0, 250)))).toBe(Date.UTC(2040, 0, 1, 0, 0, 0, 250));
  });
});

describe('checkReply', () => {
  const withField = (fields: Partial<SntpPacket>) => ({ ...reply, ...fields });
  it('accepts a good reply', () => {
    expect(() => checkReply(reply, sent)).not.toThrow();
  });
  it.each([
    [{ mode: 3 }, 'mode 3, expected 4 (server)'],
    [{ version: 0 }, 'version 0, expected 1-4'],
    [{ stratum: 0, referenceId: 0x52415445 }, "kiss-o'-death RATE"],
    [{ stratum: 16 }, 'stratum 16: the server is not synchronised'],
    [{ leap: 3 }, 'leap indicator 3: the server is not synchronised'],
    [{ originate: { seconds: sent.seconds, fraction: sent.fraction + 1 } }, 'originate timestamp differs from the request: a stale or forged reply'],
    [{ transmit: { seconds: 0, fraction: 0 } }, 'transmit timestamp is zero'],
  ] as [Partial<SntpPacket>, string][])('refuses %o: %s', (fields, message) => {
    expect(() => checkReply(withField(fields), sent)).toThrow(new SntpReplyError(message));
  });
  it('one flipped byte of the echoed timestamp is caught', () => {
    const flipped = Uint8Array.from(replyBytes, (b, i) => (i === 31 ? b ^ 1 : b));
    expect(() => checkReply(decodeSntpPacket(flipped), sent)).toThrow('originate timestamp differs');
  });
});

describe('clockSample', () => {
  it('offset and delay as RFC 4330 §5 defines them', () => {
    // The server's clock is 1099.5 ms ahead; the round trip took 2 ms of which the server held it 1 ms.
    expect(clockSample(0, 1100, 1101, 2)).toEqual({ offsetMs: 1099.5, delayMs: 1 });
    expect(clockSample(5000, 1001, 1002, 5004)).toEqual({ offsetMs: -4000.5, delayMs: 3 });
  });
  it('reads reference ids as text where they are text', () => {
    expect(referenceText(0x47505300)).toBe('GPS');
    expect(referenceText(0x0a000202)).toBe('0x0a000202');
  });
});
