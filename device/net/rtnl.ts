/**
 * Link, address and route changes as one call each: encodes the rtnetlink request (netlink.ts), sends it through
 * `NetSys`, and turns a negative acknowledgement into a `SyscallError` naming what was asked, e.g.
 * "add address 10.0.2.15/24 on eth0: File exists (EEXIST)".
 */
import type { NetSys } from '../sys/net.ts';
import { SyscallError } from '../sys/libc.ts';
import { formatAddress, formatPrefix, type Prefix } from '../formats/ip.ts';
import {
  NLMSG_ERROR,
  decodeAckErrno,
  decodeMessages,
  encodeAddressChange,
  encodeLinkChange,
  encodeRouteChange,
  type AddressChange,
  type LinkChange,
  type RouteChange,
} from '../formats/netlink.ts';

/** The network changes the init makes; `name` is the interface name, for messages. */
export interface Rtnl {
  setLink(name: string, change: LinkChange): void;
  addAddress(name: string, change: AddressChange): void;
  deleteAddress(name: string, change: AddressChange): void;
  addRoute(name: string, route: RouteChange): void;
  deleteRoute(name: string, route: RouteChange): void;
}

export function describeRoute(route: RouteChange, name: string): string {
  const to = route.destination.length === 0 ? 'default' : formatPrefix(route.destination);
  const via = route.gateway === undefined ? '' : ` via ${formatAddress({ family: route.destination.family, bytes: route.gateway })}`;
  return `${to}${via} dev ${name}`;
}

function describeLink(change: LinkChange): string {
  const parts = [];
  if (change.up !== undefined) parts.push(change.up ? 'up' : 'down');
  if (change.mtu !== undefined) parts.push(`mtu ${change.mtu}`);
  return parts.join(' ');
}

export function createRtnl(sys: NetSys): Rtnl {
  let seq = 1;
  function request(call: string, build: (seq: number) => Uint8Array): void {
    const id = seq++;
    const messages = decodeMessages(sys.rtnetlink(build(id)));
    const ack = messages.find((m) => m.seq === id && m.type === NLMSG_ERROR);
    if (ack === undefined) throw new Error(`${call}: the kernel sent no acknowledgement`);
    const errno = decodeAckErrno(ack);
    if (errno !== 0) {
      const { code, text } = sys.describeErrno(errno);
      throw new SyscallError(call, errno, code, text);
    }
  }
  const addressText = (address: Prefix) => formatPrefix(address);
  return {
    setLink: (name, change) => request(`set ${name} ${describeLink(change)}`, (id) => encodeLinkChange(id, change)),
    addAddress: (name, change) => request(`add address ${addressText(change.address)} on ${name}`, (id) => encodeAddressChange(id, 'add', change)),
    deleteAddress: (name, change) => request(`delete address ${addressText(change.address)} from ${name}`, (id) => encodeAddressChange(id, 'delete', change)),
    addRoute: (name, route) => request(`add route ${describeRoute(route, name)}`, (id) => encodeRouteChange(id, 'add', route)),
    deleteRoute: (name, route) => request(`delete route ${describeRoute(route, name)}`, (id) => encodeRouteChange(id, 'delete', route)),
  };
}
