/**
 * `kiln run --forward [HOSTADDR:]HOSTPORT:GUESTPORT`: a TCP port on the host that reaches a port on the guest
 * through QEMU's user network (`hostfwd`). The host side listens on 127.0.0.1 unless an address is given, so a
 * development device is not reachable from the LAN by accident.
 */
import { KilnError } from '../util/errors.js';

export interface PortForward {
  /** IPv4 address the host listens on. @default '127.0.0.1' */
  hostAddress: string;
  hostPort: number;
  guestPort: number;
}

export const DEFAULT_FORWARD_ADDRESS = '127.0.0.1';

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

function port(text: string, which: string, whole: string): number {
  const n = Number(text);
  if (!/^\d{1,5}$/.test(text) || n < 1 || n > 65535) {
    throw new KilnError('RUN_BAD_OPTION', `--forward ${whole}: ${which} port "${text}" is not 1-65535`, { hint: FORWARD_HINT });
  }
  return n;
}

const FORWARD_HINT = 'Write it as HOSTPORT:GUESTPORT (e.g. 8080:80) or HOSTADDR:HOSTPORT:GUESTPORT (e.g. 0.0.0.0:8080:80).';

export function parseForward(text: string): PortForward {
  const parts = text.split(':');
  if (parts.length === 2) return { hostAddress: DEFAULT_FORWARD_ADDRESS, hostPort: port(parts[0]!, 'host', text), guestPort: port(parts[1]!, 'guest', text) };
  if (parts.length === 3) {
    if (!IPV4.test(parts[0]!)) {
      throw new KilnError('RUN_BAD_OPTION', `--forward ${text}: host address "${parts[0]}" is not an IPv4 address`, { hint: FORWARD_HINT });
    }
    return { hostAddress: parts[0]!, hostPort: port(parts[1]!, 'host', text), guestPort: port(parts[2]!, 'guest', text) };
  }
  throw new KilnError('RUN_BAD_OPTION', `--forward ${text}: expected HOSTPORT:GUESTPORT or HOSTADDR:HOSTPORT:GUESTPORT`, { hint: FORWARD_HINT });
}

/** QEMU's `hostfwd` value: `tcp:127.0.0.1:8080-:80` (the guest address left to QEMU: its DHCP's first lease). */
export function hostfwd(forward: PortForward): string {
  return `tcp:${forward.hostAddress}:${forward.hostPort}-:${forward.guestPort}`;
}

/** Two forwards may not listen on the same host address and port. */
export function checkForwards(forwards: readonly PortForward[]): void {
  const seen = new Set<string>();
  for (const f of forwards) {
    const key = `${f.hostAddress}:${f.hostPort}`;
    if (seen.has(key) || seen.has(`0.0.0.0:${f.hostPort}`) || (f.hostAddress === '0.0.0.0' && [...seen].some((s) => s.endsWith(`:${f.hostPort}`)))) {
      throw new KilnError('RUN_BAD_OPTION', `--forward: host port ${f.hostPort} is forwarded twice`, { hint: 'Give each forward its own host port.' });
    }
    seen.add(key);
  }
}
