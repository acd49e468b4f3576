/**
 * Boot stage "network": binds the `NetworkManager` to the real system (rtnetlink through `ctx.net`, DHCP sockets
 * through dgram, Node's timers), brings up loopback and the configured interfaces, and waits a bounded time for
 * DHCP leases. A lease that has not come by then is logged when it comes; the boot goes on without it.
 */
import type { StageContext } from '../base/context.ts';
import type { Lease } from './dhcp/lease.ts';
import { openDhcpSocket } from './dhcp/socket.ts';
import { NetworkManager } from './manager.ts';
import { createRtnl } from './rtnl.ts';
import { errorMessage } from '../contract/error-message.ts';

/** How long the boot waits for the first DHCP leases; QEMU's user network answers in well under a second. */
export const DHCP_BOOT_WAIT_MS = 10_000;
/** How often links are looked at (carrier, interfaces appearing). */
const POLL_MS = 1_000;

const leaseListeners: ((name: string, lease: Lease) => void)[] = [];

/** Be told about every DHCP lease granted or renewed from now on (the time service uses it). */
export function onLease(listener: (name: string, lease: Lease) => void): void {
  leaseListeners.push(listener);
}

/** Node timers that do not keep the event loop alive on their own (PID 1 keeps it alive anyway). */
export function setTimer(ms: number, fn: () => void): () => void {
  const timer = setTimeout(fn, ms);
  timer.unref();
  return () => clearTimeout(timer);
}

export async function networkStage(ctx: StageContext): Promise<string> {
  const settings = ctx.settings();
  const manager = new NetworkManager(
    {
      rtnl: createRtnl(ctx.net),
      fs: ctx.fs,
      log: ctx.log,
      hostname: settings.hostname,
      openDhcpSocket: (name, onMessage) => openDhcpSocket(ctx.net, name, onMessage, (message) => ctx.log.warn(`network: ${name} dhcp: ${message}`)),
      now: ctx.now,
      setTimer,
      random: Math.random,
      onLease: (name, lease) => {
        for (const listener of leaseListeners) listener(name, lease);
      },
    },
    settings.network,
  );
  let summary = manager.start();
  const poll = setInterval(() => {
    try {
      manager.poll();
    } catch (error) {
      ctx.log.warn(`network: watching links failed: ${errorMessage(error)}`);
    }
  }, POLL_MS);
  poll.unref();
  ctx.onShutdown(() => {
    clearInterval(poll);
    manager.stop();
  });
  if (manager.pendingDhcp().length > 0) {
    const started = ctx.now();
    const all = await manager.waitForLeases(DHCP_BOOT_WAIT_MS);
    const waited = `${((ctx.now() - started) / 1000).toFixed(1)} s`;
    summary += all ? `; leases in ${waited}` : `; no DHCP lease yet on ${manager.pendingDhcp().join(', ')} after ${waited} (asking on in the background)`;
  }
  return summary;
}
