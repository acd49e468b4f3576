/**
 * /etc/resolv.conf from the configured name servers and those DHCP leases brought. Pure: the network stage writes
 * the text whenever a lease comes, changes or goes.
 */

export const RESOLV_CONF_PATH = '/etc/resolv.conf';

export interface LeaseDns {
  /** Interface name, for the comment. */
  name: string;
  servers: readonly string[];
  /** DHCP option 15, the domain name: becomes the search list. */
  domain?: string;
}

/**
 * Configured servers first (the operator's choice wins), then each lease's, without duplicates. glibc's resolver
 * reads at most three `nameserver` lines (MAXNS); the rest are written anyway for resolvers that read more.
 */
export function resolvConfText(configured: readonly string[], leases: readonly LeaseDns[]): string {
  const servers: string[] = [];
  const domains: string[] = [];
  const add = <T>(list: T[], value: T) => void (list.includes(value) || list.push(value));
  for (const server of configured) add(servers, server);
  for (const lease of leases) {
    for (const server of lease.servers) add(servers, server);
    if (lease.domain !== undefined && lease.domain !== '') add(domains, lease.domain);
  }
  const sources = ['the config', ...leases.map((l) => `DHCP on ${l.name}`)];
  const lines = [`# Written by kiln's init from ${sources.join(', ')}.`];
  if (domains.length > 0) lines.push(`search ${domains.join(' ')}`);
  for (const server of servers) lines.push(`nameserver ${server}`);
  return `${lines.join('\n')}\n`;
}
