/**
 * SNTP (RFC 4330) packets as bytes, and the checks and arithmetic a client does with a reply. Pure codec: no
 * sockets, no clocks.
 *
 * NTP timestamps count seconds since 1900 in 32 bits plus a 32-bit fraction; they wrap in 2036. As RFC 4330 §3
 * says, a seconds value with the top bit clear is read as 2036-2104 (era 1), set as 1968-2036 (era 0).
 */
import { DecodeError } from '../contract/decode-error.ts';

export const NTP_PORT = 123;
export const PACKET_SIZE = 48;

/** Seconds from 1900-01-01 (NTP era 0) to 1970-01-01 (Unix). */
const NTP_UNIX_OFFSET_S = 2_208_988_800;
const ERA_SECONDS = 2 ** 32;
const FRACTION = 2 ** 32;

const VERSION = 4;
const MODE_CLIENT = 3;
const MODE_SERVER = 4;
const LEAP_ALARM = 3;

export interface NtpTimestamp {
  seconds: number;
  fraction: number;
}

export interface SntpPacket {
  leap: number;
  version: number;
  mode: number;
  stratum: number;
  poll: number;
  precision: number;
  /** Seconds. */
  rootDelay: number;
  rootDispersion: number;
  /** Raw 32-bit reference identifier; for stratum 0 and 1 it is four ASCII letters (see `referenceText`). */
  referenceId: number;
  reference: NtpTimestamp;
  originate: NtpTimestamp;
  receive: NtpTimestamp;
  transmit: NtpTimestamp;
}

/** A well-formed reply the client must not use, e.g. a kiss-o'-death or an answer to another request. */
export class SntpReplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SntpReplyError';
  }
}

/** Unix milliseconds → NTP timestamp (fraction rounded down). */
export function toNtp(unixMs: number): NtpTimestamp {
  const totalSeconds = Math.floor(unixMs / 1000);
  const fraction = Math.floor(((unixMs - totalSeconds * 1000) / 1000) * FRACTION);
  return { seconds: (totalSeconds + NTP_UNIX_OFFSET_S) % ERA_SECONDS, fraction };
}

/** NTP timestamp → Unix milliseconds, in the era RFC 4330 §3 picks. */
export function fromNtp(ts: NtpTimestamp): number {
  const era = ts.seconds >= 0x8000_0000 ? 0 : 1;
  return (ts.seconds + era * ERA_SECONDS - NTP_UNIX_OFFSET_S) * 1000 + (ts.fraction / FRACTION) * 1000;
}

function writeTimestamp(view: DataView, offset: number, ts: NtpTimestamp): void {
  view.setUint32(offset, ts.seconds >>> 0);
  view.setUint32(offset + 4, ts.fraction >>> 0);
}

function readTimestamp(view: DataView, offset: number): NtpTimestamp {
  return { seconds: view.getUint32(offset), fraction: view.getUint32(offset + 4) };
}

export function encodeSntpPacket(packet: SntpPacket): Uint8Array {
  const bytes = new Uint8Array(PACKET_SIZE);
  const view = new DataView(bytes.buffer);
  bytes[0] = ((packet.leap & 3) << 6) | ((packet.version & 7) << 3) | (packet.mode & 7); // LI (2 bits) VN (3) Mode (3) @0
  bytes[1] = packet.stratum; // stratum (1) @1
  view.setInt8(2, packet.poll); // poll (1) @2
  view.setInt8(3, packet.precision); // precision (1, signed log2 s) @3
  view.setInt32(4, Math.round(packet.rootDelay * 65536)); // root delay (4, 16.16) @4
  view.setUint32(8, Math.round(packet.rootDispersion * 65536)); // root dispersion (4, 16.16) @8
  view.setUint32(12, packet.referenceId >>> 0); // reference id (4) @12
  writeTimestamp(view, 16, packet.reference); // reference timestamp (8) @16
  writeTimestamp(view, 24, packet.originate); // originate timestamp (8) @24
  writeTimestamp(view, 32, packet.receive); // receive timestamp (8) @32
  writeTimestamp(view, 40, packet.transmit); // transmit timestamp (8) @40
  return bytes;
}

const ZERO: NtpTimestamp = { seconds: 0, fraction: 0 };

/** A client request (RFC 4330 §5): everything zero but the version, mode 3 and the transmit timestamp. */
export function encodeSntpRequest(transmit: NtpTimestamp): Uint8Array {
  return encodeSntpPacket({
    leap: 0,
    version: VERSION,
    mode: MODE_CLIENT,
    stratum: 0,
    poll: 0,
    precision: 0,
    rootDelay: 0,
    rootDispersion: 0,
    referenceId: 0,
    reference: ZERO,
    originate: ZERO,
    receive: ZERO,
    transmit,
  });
}

/** The first 48 bytes; a key identifier and digest after them (NTP authentication) are ignored. */
export function decodeSntpPacket(bytes: Uint8Array): SntpPacket {
  if (bytes.length < PACKET_SIZE) throw new DecodeError('SNTP', 'packet', 0, `${bytes.length} bytes, need ${PACKET_SIZE}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, PACKET_SIZE);
  const first = bytes[0]!;
  return {
    leap: first >> 6,
    version: (first >> 3) & 7,
    mode: first & 7,
    stratum: bytes[1]!,
    poll: view.getInt8(2),
    precision: view.getInt8(3),
    rootDelay: view.getInt32(4) / 65536,
    rootDispersion: view.getUint32(8) / 65536,
    referenceId: view.getUint32(12),
    reference: readTimestamp(view, 16),
    originate: readTimestamp(view, 24),
    receive: readTimestamp(view, 32),
    transmit: readTimestamp(view, 40),
  };
}

/** Four ASCII letters of a reference id (stratum 0 kiss codes like "RATE", stratum 1 sources like "GPS"). */
export function referenceText(referenceId: number): string {
  const chars = [24, 16, 8, 0].map((shift) => (referenceId >>> shift) & 0xff).filter((c) => c !== 0);
  return chars.every((c) => c >= 0x20 && c < 0x7f) ? String.fromCharCode(...chars) : `0x${referenceId.toString(16).padStart(8, '0')}`;
}

/**
 * The checks of RFC 4330 §5 on a server's reply to the request whose transmit timestamp was `sent`. Throws
 * SntpReplyError saying why the reply cannot be used.
 */
export function checkReply(reply: SntpPacket, sent: NtpTimestamp): void {
  if (reply.mode !== MODE_SERVER) throw new SntpReplyError(`mode ${reply.mode}, expected ${MODE_SERVER} (server)`);
  if (reply.version < 1 || reply.version > 4) throw new SntpReplyError(`version ${reply.version}, expected 1-4`);
  if (reply.stratum === 0) throw new SntpReplyError(`kiss-o'-death ${referenceText(reply.referenceId)}`);
  if (reply.stratum > 15) throw new SntpReplyError(`stratum ${reply.stratum}: the server is not synchronised`);
  if (reply.leap === LEAP_ALARM) throw new SntpReplyError('leap indicator 3: the server is not synchronised');
  if (reply.originate.seconds !== sent.seconds || reply.originate.fraction !== sent.fraction) {
    throw new SntpReplyError('originate timestamp differs from the request: a stale or forged reply');
  }
  if (reply.transmit.seconds === 0 && reply.transmit.fraction === 0) throw new SntpReplyError('transmit timestamp is zero');
}

export interface ClockSample {
  /** How far the local clock is behind the server's (add it to correct), ms. */
  offsetMs: number;
  /** Round trip minus the server's processing time, ms. */
  delayMs: number;
}

/**
 * RFC 4330 §5: t1 = request sent (client clock), t2 = received (server), t3 = reply sent (server), t4 = reply
 * received (client). offset = ((t2 - t1) + (t3 - t4)) / 2, delay = (t4 - t1) - (t3 - t2). All Unix ms.
 */
export function clockSample(t1: number, t2: number, t3: number, t4: number): ClockSample {
  return { offsetMs: (t2 - t1 + (t3 - t4)) / 2, delayMs: t4 - t1 - (t3 - t2) };
}
