/**
 * The network's door to the kernel, through koffi like `libc.ts`: an rtnetlink socket for links, addresses and
 * routes, and UDP sockets tied to one interface for DHCP. Behind the `NetSys` interface, so the network logic runs
 * on the host against a fake (`device/testing/fakes.ts`).
 *
 * Why rtnetlink rather than the old ioctls (SIOCSIFADDR, SIOCADDRT): one message format covers IPv4 and IPv6
 * addresses and routes alike, an interface may carry several addresses without "eth0:1" aliases, a DHCP address
 * can be given the lease as its lifetime, and every request is acknowledged with an errno. The requests are tiny
 * and the kernel answers them before `sendto` returns, so a blocking `recv` (with a 2 s timeout, in case) is fine
 * for PID 1.
 */
import { createRequire } from 'node:module';
import { NLMSG_DONE, NLMSG_ERROR, decodeMessages } from '../formats/netlink.ts';
import { SyscallError } from './libc.ts';

const AF_INET = 2;
const AF_NETLINK = 16;
const SOCK_DGRAM = 2;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_ROUTE = 0;
const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;
const SO_BROADCAST = 6;
const SO_RCVTIMEO = 20;
const SO_BINDTODEVICE = 25;

/** How long a netlink request may wait for its acknowledgement. */
const NETLINK_TIMEOUT_S = 2;

export interface NetSys {
  /**
   * Sends one rtnetlink request and returns what the kernel answered, up to and including the acknowledgement
   * (NLMSG_ERROR) or NLMSG_DONE carrying the request's sequence number. Throws SyscallError when the socket fails.
   */
  rtnetlink(request: Uint8Array): Uint8Array;
  /**
   * A UDP socket bound to 0.0.0.0:`port` that sends and receives on interface `ifname` only (SO_BINDTODEVICE), may
   * broadcast, and shares the port with other interfaces' sockets (SO_REUSEADDR). Returns the fd, for Node's
   * `dgram` `bind({ fd })`. Tied to the interface, a broadcast leaves through it even before it has an address.
   */
  openInterfaceUdp(ifname: string, port: number): number;
  /** errno name and text, e.g. { code: 'EEXIST', text: 'File exists' }. */
  describeErrno(errno: number): { code: string; text: string };
}

export function openNetSys(): NetSys {
  const require = createRequire(import.meta.url);
  const koffi = require('koffi') as typeof import('koffi');
  const lib = koffi.load('libc.so.6');
  const socket = lib.func('int socket(int domain, int type, int protocol)');
  const bind = lib.func('int bind(int fd, const void *addr, uint32_t len)');
  const setsockopt = lib.func('int setsockopt(int fd, int level, int name, const void *value, uint32_t len)');
  const sendto = lib.func('long sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t addrlen)');
  const recv = lib.func('long recv(int fd, void *buf, size_t len, int flags)');
  const close = lib.func('int close(int fd)');
  const strerror = lib.func('const char *strerror(int errnum)');

  const errnoNames = new Map<number, string>();
  for (const [name, value] of Object.entries(koffi.os.errno)) if (!errnoNames.has(value)) errnoNames.set(value, name);
  const describeErrno = (errno: number) => ({ code: errnoNames.get(errno) ?? `E${errno}`, text: String(strerror(errno)) });

  // Read errno right after the call, before any other JS can run a libc call that changes it.
  function check(result: number | bigint, call: string): number {
    const value = Number(result);
    if (value !== -1) return value;
    const errno = koffi.errno();
    const { code, text } = describeErrno(errno);
    throw new SyscallError(call, errno, code, text);
  }
  const intValue = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32LE(n);
    return b;
  };

  let netlinkFd: number | undefined;
  const kernel = Buffer.alloc(12); // sockaddr_nl: nl_family (2) @0, pad (2) @2, nl_pid (4) @4 = 0, nl_groups (4) @8 = 0
  kernel.writeUInt16LE(AF_NETLINK, 0);
  const receiveBuffer = Buffer.alloc(65536);

  function openNetlink(): number {
    const fd = check(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), 'socket(AF_NETLINK)');
    const timeout = Buffer.alloc(16); // struct timeval: tv_sec (8) @0, tv_usec (8) @8
    timeout.writeBigInt64LE(BigInt(NETLINK_TIMEOUT_S), 0);
    check(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, timeout, timeout.length), 'setsockopt(SO_RCVTIMEO)');
    return fd;
  }

  return {
    describeErrno,
    rtnetlink(request) {
      netlinkFd ??= openNetlink();
      const seq = new DataView(request.buffer, request.byteOffset, request.byteLength).getUint32(8, true);
      check(sendto(netlinkFd, request, request.length, 0, kernel, kernel.length), 'sendto(netlink)');
      const replies: Buffer[] = [];
      for (;;) {
        const length = check(recv(netlinkFd, receiveBuffer, receiveBuffer.length, 0), 'recv(netlink)');
        const datagram = Buffer.from(receiveBuffer.subarray(0, length));
        replies.push(datagram);
        // Answers to an earlier request that timed out carry another sequence number: read past them.
        if (decodeMessages(datagram).some((m) => m.seq === seq && (m.type === NLMSG_ERROR || m.type === NLMSG_DONE))) break;
      }
      return Buffer.concat(replies);
    },
    openInterfaceUdp(ifname, port) {
      const fd = check(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), 'socket(AF_INET, SOCK_DGRAM)');
      try {
        check(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, intValue(1), 4), 'setsockopt(SO_REUSEADDR)');
        check(setsockopt(fd, SOL_SOCKET, SO_BROADCAST, intValue(1), 4), 'setsockopt(SO_BROADCAST)');
        const name = Buffer.from(`${ifname}\0`);
        check(setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, name.length), `setsockopt(SO_BINDTODEVICE, ${ifname})`);
        const address = Buffer.alloc(16); // sockaddr_in: sin_family (2) @0, sin_port (2, big-endian) @2, sin_addr (4) @4 = 0.0.0.0
        address.writeUInt16LE(AF_INET, 0);
        address.writeUInt16BE(port, 2);
        check(bind(fd, address, address.length), `bind(0.0.0.0:${port} on ${ifname})`);
        return fd;
      } catch (error) {
        close(fd);
        throw error;
      }
    },
  };
}
