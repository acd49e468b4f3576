/**
 * Every address the kernel holds, per interface, from an rtnetlink dump (RTM_GETADDR): what the status endpoint
 * reports. Not `os.networkInterfaces()`: libuv leaves out every interface that is not both UP and RUNNING, so an
 * interface with its addresses in place but, at that moment, no carrier or no operational state "up" vanished
 * from /status as if it had no address at all.
 */
import type { HostFs } from '../sys/host-fs.ts';
import type { NetSys } from '../sys/net.ts';
import { SyscallError } from '../sys/libc.ts';
import { listInterfaces } from './interfaces.ts';
import { formatPrefix } from '../formats/ip.ts';
import { NLMSG_DONE, NLMSG_ERROR, RTM_NEWADDR, decodeAckErrno, decodeAddressMessage, decodeMessages, encodeAddressDump } from '../formats/netlink.ts';

let seq = 0x4b000000; // apart from rtnl.ts's requests, which count from 1 on the same socket

/** Interface name → "address/length" in the kernel's order (IPv4 first); an interface gone from /sys is "if<index>". */
export function readAddresses(sys: NetSys, fs: HostFs): Record<string, string[]> {
  const id = seq++ >>> 0;
  const messages = decodeMessages(sys.rtnetlink(encodeAddressDump(id))).filter((m) => m.seq === id);
  const ack = messages.find((m) => m.type === NLMSG_ERROR);
  const errno = ack === undefined ? 0 : decodeAckErrno(ack);
  if (errno !== 0) {
    const { code, text } = sys.describeErrno(errno);
    throw new SyscallError('dump addresses', errno, code, text);
  }
  if (!messages.some((m) => m.type === NLMSG_DONE)) throw new Error('dump addresses: the kernel sent no NLMSG_DONE');
  const names = new Map(listInterfaces(fs).map((i) => [i.index, i.name]));
  const out: Record<string, string[]> = {};
  for (const message of messages) {
    if (message.type !== RTM_NEWADDR) continue;
    const entry = decodeAddressMessage(message);
    if (entry === undefined) continue;
    const name = names.get(entry.index) ?? `if${entry.index}`;
    (out[name] ??= []).push(formatPrefix(entry.address));
  }
  return out;
}
