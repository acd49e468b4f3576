/**
 * Test doubles for the network's and the clock's doors (device/sys/net.ts, device/sys/clock.ts) and for `Rtnl`.
 * Not shipped: the build leaves `device/testing/` out.
 */
import type { Clock } from '../sys/clock.ts';
import { SyscallError } from '../sys/libc.ts';
import type { NetSys } from '../sys/net.ts';
import { describeRoute, type Rtnl } from '../net/rtnl.ts';
import { formatPrefix } from '../formats/ip.ts';
import { NLMSG_ERROR, decodeMessages } from '../formats/netlink.ts';

const ERRNO: Record<number, [string, string]> = {
  1: ['EPERM', 'Operation not permitted'],
  3: ['ESRCH', 'No such process'],
  17: ['EEXIST', 'File exists'],
  19: ['ENODEV', 'No such device'],
  22: ['EINVAL', 'Invalid argument'],
  99: ['EADDRNOTAVAIL', 'Cannot assign requested address'],
  101: ['ENETUNREACH', 'Network is unreachable'],
};

export const ERRNO_NUMBER: Record<string, number> = Object.fromEntries(Object.entries(ERRNO).map(([n, [code]]) => [code, Number(n)]));

/** The kernel's acknowledgement of `request`: nlmsghdr + error (negative errno, 0 = ok) + the request's header. */
export function ackFor(request: Uint8Array, errno = 0): Uint8Array {
  const reply = new Uint8Array(36);
  const view = new DataView(reply.buffer);
  view.setUint32(0, 36, true);
  view.setUint16(4, NLMSG_ERROR, true);
  view.setUint32(8, new DataView(request.buffer, request.byteOffset).getUint32(8, true), true);
  view.setInt32(16, -errno, true);
  reply.set(request.subarray(0, 16), 20);
  return reply;
}

export interface FakeNetSys extends NetSys {
  /** Every rtnetlink request sent, as bytes. */
  requests: Uint8Array[];
  /** UDP sockets opened, as "eth0:68". */
  sockets: string[];
}

/** A kernel that acknowledges every request; `errnoFor` may fail one (return an errno) by looking at its bytes. */
export function fakeNetSys(errnoFor: (request: Uint8Array) => number = () => 0): FakeNetSys {
  const requests: Uint8Array[] = [];
  const sockets: string[] = [];
  return {
    requests,
    sockets,
    rtnetlink(request) {
      requests.push(Uint8Array.from(request));
      decodeMessages(request); // a malformed request is a test failure
      return ackFor(request, errnoFor(request));
    },
    openInterfaceUdp(ifname, port) {
      sockets.push(`${ifname}:${port}`);
      return 100 + sockets.length;
    },
    describeErrno: (errno) => {
      const [code, text] = ERRNO[errno] ?? [`E${errno}`, 'Unknown error'];
      return { code, text };
    },
  };
}

export interface FakeRtnl extends Rtnl {
  /** Call text → errno name it fails with; change it to make a later call succeed. */
  failures: Record<string, string>;
  /** Every call as text, e.g. "link eth0#2 up", "addr add eth0 10.0.2.15/24 valid 86400", "route add default via 10.0.2.2 dev eth0 metric 1026 proto 16". */
  calls: string[];
}

/** An Rtnl that records; `failures` maps a call's text to an errno name it fails with. */
export function fakeRtnl(failures: Record<string, string> = {}): FakeRtnl {
  const calls: string[] = [];
  const record = (call: string, what: string) => {
    calls.push(call);
    const code = failures[call];
    if (code !== undefined) {
      const errno = ERRNO_NUMBER[code] ?? 0;
      throw new SyscallError(what, errno, code, ERRNO[errno]?.[1] ?? 'Unknown error');
    }
  };
  return {
    calls,
    failures,
    setLink: (name, change) =>
      record(
        `link ${name}#${change.index}${change.up === undefined ? '' : change.up ? ' up' : ' down'}${change.mtu === undefined ? '' : ` mtu ${change.mtu}`}`,
        `set ${name}`,
      ),
    addAddress: (name, change) =>
      record(
        `addr add ${name} ${formatPrefix(change.address)}${change.validSeconds === undefined ? '' : ` valid ${change.validSeconds}`}`,
        `add address ${formatPrefix(change.address)} on ${name}`,
      ),
    deleteAddress: (name, change) => record(`addr del ${name} ${formatPrefix(change.address)}`, `delete address ${formatPrefix(change.address)} from ${name}`),
    addRoute: (name, route) =>
      record(
        `route add ${describeRoute(route, name)}${route.metric === undefined ? '' : ` metric ${route.metric}`} proto ${route.protocol}`,
        `add route ${describeRoute(route, name)}`,
      ),
    deleteRoute: (name, route) => record(`route del ${describeRoute(route, name)}`, `delete route ${describeRoute(route, name)}`),
  };
}

export interface FakeClock extends Clock {
  steps: number[];
}

export function fakeClock(): FakeClock {
  const steps: number[] = [];
  return { steps, stepRealtime: (offsetMs) => void steps.push(offsetMs) };
}

/**
 * Timers on a fake monotonic clock: `advance(ms)` runs what falls due, in time order, including timers set by
 * the timers it runs.
 */
export function fakeTimers(start = 0) {
  let now = start;
  let nextId = 1;
  const pending = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => now,
    setTimer(ms: number, fn: () => void): () => void {
      const id = nextId++;
      pending.set(id, { at: now + Math.max(0, ms), fn });
      return () => void pending.delete(id);
    },
    /** Due times of the timers waiting, relative to now. */
    waiting: () => [...pending.values()].map((t) => t.at - now).sort((a, b) => a - b),
    advance(ms: number): void {
      const end = now + ms;
      for (;;) {
        let next: [number, { at: number; fn: () => void }] | undefined;
        for (const entry of pending) if (entry[1].at <= end && (next === undefined || entry[1].at < next[1].at)) next = entry;
        if (next === undefined) break;
        pending.delete(next[0]);
        now = next[1].at;
        next[1].fn();
      }
      now = end;
    },
  };
}
