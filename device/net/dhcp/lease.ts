/** A DHCP lease as the client keeps it: what the ACK said, and when (monotonic ms) it was granted. Pure. */
import { netmaskToLength, parseIPv4 } from '../../formats/ip.ts';
import type { DhcpMessage } from './message.ts';

export interface Lease {
  address: string;
  prefixLength: number;
  routers: string[];
  dnsServers: string[];
  domainName?: string;
  mtu?: number;
  serverId: string;
  /** Seconds; 0xffffffff = infinite (RFC 2131 §3.3). */
  leaseSeconds: number;
  renewalSeconds: number;
  rebindingSeconds: number;
  /** Monotonic ms when the REQUEST that got this ACK was sent: the lease runs from then (RFC 2131 §4.4.1). */
  grantedAt: number;
}

export const INFINITE_LEASE = 0xffffffff;

/** Without option 1 the client may assume the class's mask (RFC 2131 §4.4.1 leaves it to the client). */
function classfulLength(address: string): number {
  const first = parseIPv4(address)[0]!;
  return first < 128 ? 8 : first < 192 ? 16 : 24;
}

/**
 * The lease an ACK grants. T1 and T2 default to 0.5 and 0.875 of the lease (RFC 2131 §4.4.5) and are kept in order
 * (T1 ≤ T2 ≤ lease) whatever the server sent. Throws TypeError when the ACK lacks what a lease needs.
 */
export function leaseFromAck(ack: DhcpMessage, grantedAt: number, fallbackServerId?: string): Lease {
  const { options } = ack;
  const serverId = options.serverId ?? fallbackServerId;
  if (serverId === undefined) throw new TypeError('DHCP ACK without a server identifier (option 54)');
  if (options.leaseSeconds === undefined) throw new TypeError('DHCP ACK without a lease time (option 51)');
  if (ack.yiaddr === '0.0.0.0') throw new TypeError('DHCP ACK without an address (yiaddr 0.0.0.0)');
  const lease = options.leaseSeconds;
  const infinite = lease === INFINITE_LEASE;
  const rebinding = infinite ? INFINITE_LEASE : Math.min(options.rebindingSeconds ?? Math.floor(lease * 0.875), lease);
  const renewal = infinite ? INFINITE_LEASE : Math.min(options.renewalSeconds ?? Math.floor(lease * 0.5), rebinding);
  const result: Lease = {
    address: ack.yiaddr,
    prefixLength: options.subnetMask !== undefined ? netmaskToLength(parseIPv4(options.subnetMask)) : classfulLength(ack.yiaddr),
    routers: options.routers ?? [],
    dnsServers: options.dnsServers ?? [],
    serverId,
    leaseSeconds: lease,
    renewalSeconds: renewal,
    rebindingSeconds: rebinding,
    grantedAt,
  };
  if (options.domainName !== undefined) result.domainName = options.domainName;
  if (options.mtu !== undefined && options.mtu >= 576) result.mtu = options.mtu;
  return result;
}

/** "10.0.2.15/24 gw 10.0.2.2 dns 10.0.2.3 lease 86400 s": the lease in one log phrase. */
export function describeLease(lease: Lease): string {
  const parts = [`${lease.address}/${lease.prefixLength}`];
  if (lease.routers.length > 0) parts.push(`gw ${lease.routers[0]}`);
  if (lease.dnsServers.length > 0) parts.push(`dns ${lease.dnsServers.join(',')}`);
  parts.push(lease.leaseSeconds === INFINITE_LEASE ? 'lease infinite' : `lease ${lease.leaseSeconds} s`);
  return parts.join(' ');
}
