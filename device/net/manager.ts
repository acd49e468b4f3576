/**
 * The device's network from its settings, for as long as the device runs: loopback up, each configured interface
 * found (by name or MAC) and configured, a DHCP client per `dhcp: true` interface whose leases become addresses,
 * default routes and /etc/resolv.conf, and a watch (`poll()`, once a second) that notices interfaces appearing or
 * going and carriers changing, restarting DHCP when a link comes back.
 *
 * Carrier changes are polled from /sys/class/net/<name>/carrier: rtnetlink would announce them (RTMGRP_LINK), but
 * Node can only wait on sockets it knows (TCP, UDP, pipes), and a once-a-second read of a few sysfs files costs
 * nothing next to a timer-driven init.
 */
import type { HostFs } from '../sys/host-fs.ts';
import type { Network } from '../contract/config/secondary-schema.ts';
import { SyscallError } from '../sys/libc.ts';
import { configureLink, configureRoutes } from './configure.ts';
import { DhcpClient } from './dhcp/client.ts';
import { describeLease, INFINITE_LEASE, type Lease } from './dhcp/lease.ts';
import { parseIPv4, type Prefix } from '../formats/ip.ts';
import { describeInterfaceConfig, listInterfaces, matches, readCarrier, type InterfaceConfig, type PresentInterface } from './interfaces.ts';
import { RTPROT_DHCP } from '../formats/netlink.ts';
import { RESOLV_CONF_PATH, resolvConfText } from './resolv-conf.ts';
import type { Rtnl } from './rtnl.ts';
import { errorMessage } from '../contract/error-message.ts';

/** Routes from DHCP get a higher metric than configured ones, so a static gateway wins; one per interface index. */
const DHCP_ROUTE_METRIC = 1024;

export interface DhcpSocket {
  /** To port 67 of `destination`. */
  send(bytes: Uint8Array, destination: string): void;
  close(): void;
}

export interface NetworkDeps {
  rtnl: Rtnl;
  fs: HostFs;
  log: { info(message: string): void; warn(message: string): void };
  /** Sent to DHCP servers (option 12). */
  hostname: string;
  /** A socket on port 68 of interface `name`; what arrives goes to `onMessage`. */
  openDhcpSocket(name: string, onMessage: (bytes: Uint8Array) => void): DhcpSocket;
  /** Monotonic ms. */
  now(): number;
  setTimer(ms: number, fn: () => void): () => void;
  random(): number;
  /** A DHCP lease was granted or renewed (the time service retries at once when it has not synchronised yet). */
  onLease?(name: string, lease: Lease): void;
}

interface Managed {
  config: InterfaceConfig;
  iface: PresentInterface;
  carrier: boolean | undefined;
  client?: DhcpClient;
  socket?: DhcpSocket;
  lease?: Lease;
  /** Static routes failed before the interface had a DHCP address: tried again with the first lease. */
  routesPending?: boolean;
}

export class NetworkManager {
  #deps: NetworkDeps;
  #settings: Network;
  #managed: Managed[] = [];
  /** Configured interfaces the kernel does not have (yet); `poll()` looks for them. */
  #missing: InterfaceConfig[] = [];
  #waiters: (() => void)[] = [];

  constructor(deps: NetworkDeps, settings: Network | undefined) {
    this.#deps = deps;
    this.#settings = settings ?? { interfaces: [], dns: [] };
  }

  /** Brings up loopback and every configured interface present now. Returns the summary for the stage's line. */
  start(): string {
    const summary: string[] = [];
    const present = listInterfaces(this.#deps.fs);
    const lo = present.find((p) => p.name === 'lo');
    if (lo === undefined) summary.push('no loopback');
    else {
      try {
        this.#deps.rtnl.setLink('lo', { index: lo.index, up: true });
        summary.push('lo up');
      } catch (error) {
        this.#deps.log.warn(`network: lo: ${errorMessage(error)}`);
        summary.push('lo failed');
      }
    }
    this.#missing = [...this.#settings.interfaces];
    this.#adoptPresent(present, summary);
    for (const config of this.#missing) summary.push(`${describeInterfaceConfig(config)} not found (watching for it)`);
    if (this.#settings.dns.length > 0) this.#writeResolvConf();
    return summary.join('; ');
  }

  /** Resolves when every DHCP interface has a lease, or after `ms` — whichever is first. Never rejects. */
  waitForLeases(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.pendingDhcp().length === 0) {
        resolve(true);
        return;
      }
      const waiter = () => {
        if (this.pendingDhcp().length > 0) return;
        done();
        resolve(true);
      };
      const cancel = this.#deps.setTimer(ms, () => {
        done();
        resolve(false);
      });
      const done = () => {
        cancel();
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
      };
      this.#waiters.push(waiter);
    });
  }

  /** Interfaces whose DHCP client still waits for its first lease. */
  pendingDhcp(): string[] {
    return this.#managed.filter((m) => m.client !== undefined && m.lease === undefined).map((m) => m.iface.name);
  }

  /** The once-a-second watch: interfaces appearing and going, carriers changing. */
  poll(): void {
    const present = listInterfaces(this.#deps.fs);
    for (const managed of [...this.#managed]) {
      const now = present.find((p) => p.name === managed.iface.name && p.index === managed.iface.index);
      if (now === undefined) this.#forget(managed);
    }
    if (this.#missing.length > 0) {
      const appeared: string[] = [];
      this.#adoptPresent(present, appeared);
      for (const line of appeared) this.#deps.log.info(`network: appeared: ${line}`);
    }
    for (const managed of this.#managed) {
      const carrier = readCarrier(this.#deps.fs, managed.iface.name);
      if (carrier === managed.carrier || carrier === undefined) continue;
      const before = managed.carrier;
      managed.carrier = carrier;
      if (before === undefined) continue; // first reading after the link came up: nothing changed
      this.#deps.log.info(`network: ${managed.iface.name} link ${carrier ? 'up' : 'down'}`);
      if (carrier) managed.client?.start();
      else managed.client?.stop();
    }
  }

  stop(): void {
    for (const managed of this.#managed) {
      managed.client?.stop();
      managed.socket?.close();
    }
  }

  #adoptPresent(present: readonly PresentInterface[], summary: string[]): void {
    const stillMissing: InterfaceConfig[] = [];
    for (const config of this.#missing) {
      const iface = present.find((p) => matches(config, p));
      if (iface === undefined) {
        stillMissing.push(config);
        continue;
      }
      const owner = this.#managed.find((m) => m.iface.name === iface.name);
      if (owner !== undefined) {
        this.#deps.log.warn(
          `network: ${describeInterfaceConfig(config)} is ${iface.name}, already configured as ${describeInterfaceConfig(owner.config)}: ignored`,
        );
        continue;
      }
      summary.push(this.#bringUp(config, iface));
    }
    this.#missing = stillMissing;
  }

  #bringUp(config: InterfaceConfig, iface: PresentInterface): string {
    const link = configureLink(this.#deps.rtnl, iface, config);
    const routes = configureRoutes(this.#deps.rtnl, iface, config);
    const later = config.dhcp && routes.failed.length > 0 ? ' (tried again when a DHCP lease comes)' : '';
    for (const failure of link.failed) this.#deps.log.warn(`network: ${iface.name}: ${failure}`);
    for (const failure of routes.failed) this.#deps.log.warn(`network: ${iface.name}: ${failure}${later}`);
    const managed: Managed = { config, iface, carrier: readCarrier(this.#deps.fs, iface.name), routesPending: later !== '' };
    this.#managed.push(managed);
    const outcome = { done: [...link.done, ...routes.done], failed: [...link.failed, ...routes.failed] };
    const parts = [iface.name, ...outcome.done];
    if (config.dhcp) {
      this.#startDhcp(managed);
      parts.push(managed.client === undefined ? 'dhcp failed' : 'dhcp');
    }
    if (outcome.failed.length > 0) parts.push(`(${outcome.failed.length} failed)`);
    return parts.join(' ');
  }

  #forget(managed: Managed): void {
    this.#deps.log.info(`network: ${managed.iface.name} is gone`);
    managed.client?.stop();
    managed.socket?.close();
    this.#managed = this.#managed.filter((m) => m !== managed);
    this.#missing.push(managed.config);
    if (managed.lease !== undefined) {
      managed.lease = undefined;
      this.#writeResolvConf();
    }
  }

  #startDhcp(managed: Managed): void {
    const { name, mac } = managed.iface;
    let client: DhcpClient | undefined;
    try {
      managed.socket = this.#deps.openDhcpSocket(name, (bytes) => client?.receive(bytes));
    } catch (error) {
      this.#deps.log.warn(`network: ${name} dhcp: cannot open its socket: ${errorMessage(error)}`);
      return;
    }
    const socket = managed.socket;
    client = new DhcpClient({
      name,
      mac,
      hostname: this.#deps.hostname,
      send: (bytes, destination) => socket.send(bytes, destination),
      now: this.#deps.now,
      setTimer: this.#deps.setTimer,
      random: this.#deps.random,
      onBound: (lease, renewed) => this.#applyLease(managed, lease, renewed),
      onLost: (lease, reason) => this.#dropLease(managed, lease, reason),
      log: (line) => this.#deps.log.info(`network: ${line}`),
    });
    managed.client = client;
    client.start();
  }

  #leasePrefix(lease: Lease): Prefix {
    return { family: 4, bytes: parseIPv4(lease.address), length: lease.prefixLength };
  }

  #defaultRoute(managed: Managed, router: string) {
    return {
      destination: { family: 4 as const, bytes: new Uint8Array(4), length: 0 },
      gateway: parseIPv4(router),
      index: managed.iface.index,
      metric: DHCP_ROUTE_METRIC + managed.iface.index,
      protocol: RTPROT_DHCP,
    };
  }

  #applyLease(managed: Managed, lease: Lease, renewed: boolean): void {
    const { rtnl } = this.#deps;
    const { name, index } = managed.iface;
    const attempt = (fn: () => void) => {
      try {
        fn();
      } catch (error) {
        this.#deps.log.warn(`network: ${name} dhcp: ${errorMessage(error)}`);
      }
    };
    // The kernel drops the address itself when the lease runs out, should the client not be there to do it.
    const lifetime =
      lease.leaseSeconds === INFINITE_LEASE
        ? {}
        : { validSeconds: Math.max(1, Math.ceil((lease.grantedAt + lease.leaseSeconds * 1000 - this.#deps.now()) / 1000)) };
    attempt(() => rtnl.addAddress(name, { index, address: this.#leasePrefix(lease), ...lifetime }));
    const previous = managed.lease;
    managed.lease = lease;
    if (!renewed) {
      if (lease.mtu !== undefined && managed.config.mtu === undefined) attempt(() => rtnl.setLink(name, { index, mtu: lease.mtu }));
      if (lease.routers.length > 0 && managed.config.gateway === undefined) attempt(() => rtnl.addRoute(name, this.#defaultRoute(managed, lease.routers[0]!)));
      this.#deps.log.info(`network: ${name} dhcp ${describeLease(lease)}`);
      if (managed.routesPending) {
        managed.routesPending = false;
        const routes = configureRoutes(rtnl, managed.iface, managed.config);
        if (routes.done.length > 0) this.#deps.log.info(`network: ${name} routes with the lease: ${routes.done.join(', ')}`);
        for (const failure of routes.failed) this.#deps.log.warn(`network: ${name}: ${failure}`);
      }
    } else {
      this.#deps.log.info(`network: ${name} dhcp renewed ${lease.address}/${lease.prefixLength}, lease ${lease.leaseSeconds} s`);
    }
    if (!renewed || previous?.dnsServers.join() !== lease.dnsServers.join() || previous?.domainName !== lease.domainName) this.#writeResolvConf();
    this.#deps.onLease?.(name, lease);
    for (const waiter of [...this.#waiters]) waiter();
  }

  #dropLease(managed: Managed, lease: Lease, reason: string): void {
    const { name, index } = managed.iface;
    this.#deps.log.warn(`network: ${name} dhcp lost ${lease.address}/${lease.prefixLength} (${reason})`);
    // Already gone is fine: the kernel removes an expired address by itself, and its routes with it.
    const ignoreGone = (fn: () => void) => {
      try {
        fn();
      } catch (error) {
        if (error instanceof SyscallError && ['EADDRNOTAVAIL', 'ESRCH', 'ENOENT', 'ENODEV'].includes(error.code)) return;
        this.#deps.log.warn(`network: ${name} dhcp: ${errorMessage(error)}`);
      }
    };
    if (lease.routers.length > 0 && managed.config.gateway === undefined)
      ignoreGone(() => this.#deps.rtnl.deleteRoute(name, this.#defaultRoute(managed, lease.routers[0]!)));
    ignoreGone(() => this.#deps.rtnl.deleteAddress(name, { index, address: this.#leasePrefix(lease) }));
    if (managed.lease === lease) managed.lease = undefined;
    this.#writeResolvConf();
  }

  #writeResolvConf(): void {
    const leases = this.#managed
      .filter((m): m is Managed & { lease: Lease } => m.lease !== undefined)
      .map((m) => ({ name: m.iface.name, servers: m.lease.dnsServers, ...(m.lease.domainName === undefined ? {} : { domain: m.lease.domainName }) }));
    try {
      this.#deps.fs.writeText(RESOLV_CONF_PATH, resolvConfText(this.#settings.dns, leases));
    } catch (error) {
      this.#deps.log.warn(`network: cannot write ${RESOLV_CONF_PATH}: ${errorMessage(error)}`);
    }
  }
}
