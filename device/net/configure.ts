/**
 * One interface's static configuration, in the order the kernel needs it: MTU, link up, addresses (their prefix
 * routes make gateways reachable), then routes and the default route. Each step that fails is reported and the
 * rest still tried: one bad route must not leave the interface without its addresses.
 */
import { formatPrefix, networkOf, parseAddress, parsePrefix } from '../formats/ip.ts';
import { RTPROT_STATIC } from '../formats/netlink.ts';
import type { InterfaceConfig, PresentInterface } from './interfaces.ts';
import type { Rtnl } from './rtnl.ts';
import { errorMessage } from '../contract/error-message.ts';

export interface ConfigureOutcome {
  /** What is now in place, for the log: "up", "mtu 1400", "192.168.1.10/24", "default via 192.168.1.1". */
  done: string[];
  /** One message per failed step. */
  failed: string[];
}

function stepper(outcome: ConfigureOutcome) {
  return (what: string, fn: () => void) => {
    try {
      fn();
      outcome.done.push(what);
    } catch (error) {
      outcome.failed.push(errorMessage(error));
    }
  };
}

/** MTU, link up, addresses. */
export function configureLink(rtnl: Rtnl, iface: PresentInterface, config: InterfaceConfig): ConfigureOutcome {
  const outcome: ConfigureOutcome = { done: [], failed: [] };
  const step = stepper(outcome);
  const { name, index } = iface;
  if (config.mtu !== undefined) step(`mtu ${config.mtu}`, () => rtnl.setLink(name, { index, mtu: config.mtu }));
  step('up', () => rtnl.setLink(name, { index, up: true }));
  for (const text of config.addresses) {
    step(text, () => rtnl.addAddress(name, { index, address: parsePrefix(text) }));
  }
  return outcome;
}

/**
 * `routes`, then the default route through `gateway`. A gateway must be on a connected network: on a DHCP
 * interface that may only be true once the lease's address is there, so the manager calls this again then.
 */
export function configureRoutes(rtnl: Rtnl, iface: PresentInterface, config: InterfaceConfig): ConfigureOutcome {
  const outcome: ConfigureOutcome = { done: [], failed: [] };
  const step = stepper(outcome);
  const { name, index } = iface;
  for (const route of config.routes) {
    step(`${route.to} via ${route.via}`, () => {
      const destination = networkOf(parsePrefix(route.to));
      const gateway = parseAddress(route.via);
      if (gateway.family !== destination.family) {
        throw new TypeError(`route to ${route.to} via ${route.via}: the gateway is not an IPv${destination.family} address`);
      }
      if (formatPrefix(destination) !== route.to) {
        // Not an error: the kernel only takes the network part; say what was meant.
        outcome.done.push(`(route ${route.to} taken as ${formatPrefix(destination)})`);
      }
      rtnl.addRoute(name, { destination, gateway: gateway.bytes, index, protocol: RTPROT_STATIC });
    });
  }
  if (config.gateway !== undefined) {
    step(`default via ${config.gateway}`, () => {
      const gateway = parseAddress(config.gateway!);
      const destination = { family: gateway.family, bytes: new Uint8Array(gateway.family === 4 ? 4 : 16), length: 0 };
      rtnl.addRoute(name, { destination, gateway: gateway.bytes, index, protocol: RTPROT_STATIC });
    });
  }
  return outcome;
}

export function configureInterface(rtnl: Rtnl, iface: PresentInterface, config: InterfaceConfig): ConfigureOutcome {
  const link = configureLink(rtnl, iface, config);
  const routes = configureRoutes(rtnl, iface, config);
  return { done: [...link.done, ...routes.done], failed: [...link.failed, ...routes.failed] };
}
