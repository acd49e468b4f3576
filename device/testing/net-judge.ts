/**
 * Runs kiln's network code against the host's real kernel, inside a network namespace the judge tests make
 * (device/net/kernel.judge.test.ts): the kernel and iproute2's `ip` then judge what kiln asked for.
 *
 *   net-judge.ts rtnl IFNAME           configure IFNAME, print `ip -j` views and the errors, as JSON
 *   net-judge.ts dhcp IFNAME RESOLV [SPEED [PEER_NETNS]]
 *                                      DHCP on IFNAME until a lease (or 20 s); resolv.conf goes to RESOLV. With
 *                                      SPEED (e.g. 40), the client's clock runs that much faster, and it waits for
 *                                      the lease's first renewal too (T1 of a 2-minute lease comes in 1.5 s). With
 *                                      PEER_NETNS, it then takes the peer's end (kv0) down and up again: the carrier
 *                                      changes, and DHCP verifies its lease after the link is back.
 *   net-judge.ts sntp HOST:PORT        one SNTP exchange through the real socket code (clock not stepped)
 *   net-judge.ts addresses             the status endpoint's addresses (rtnetlink dump) next to os.networkInterfaces()
 *
 * KILN_JUDGE_DUMP=1 prints each DHCP message received as hex on stderr (how message.test.ts got dnsmasq's OFFER).
 */
import { execFileSync } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import { performance } from 'node:perf_hooks';
import { nodeHostFs, type HostFs } from '../sys/host-fs.ts';
import { openNetSys } from '../sys/net.ts';
import { createRtnl } from '../net/rtnl.ts';
import { readAddresses } from '../net/addresses.ts';
import { parseIPv4, parsePrefix } from '../formats/ip.ts';
import { RTPROT_STATIC } from '../formats/netlink.ts';
import { NetworkManager } from '../net/manager.ts';
import { openDhcpSocket } from '../net/dhcp/socket.ts';
import { decodeDhcpMessage } from '../net/dhcp/message.ts';
import { setTimer } from '../net/stage.ts';
import { RESOLV_CONF_PATH } from '../net/resolv-conf.ts';
import { sntpExchange } from '../time/exchange.ts';
import { parseServer } from '../time/servers.ts';
import { TimeSync } from '../time/sync.ts';

const ip = (...args: string[]) => JSON.parse(execFileSync('ip', ['-j', ...args], { encoding: 'utf8' }) || '[]');
const [mode, ...args] = process.argv.slice(2);

if (mode === 'rtnl') {
  const name = args[0] ?? 'lo';
  const index = Number(nodeHostFs.readText(`/sys/class/net/${name}/ifindex`).trim());
  const rtnl = createRtnl(openNetSys());
  const errors: string[] = [];
  const attempt = (fn: () => void) => {
    try {
      fn();
    } catch (error) {
      errors.push((error as Error).message);
    }
  };
  attempt(() => rtnl.setLink('lo', { index: 1, up: true }));
  attempt(() => rtnl.setLink(name, { index, mtu: 1400 }));
  attempt(() => rtnl.setLink(name, { index, up: true }));
  attempt(() => rtnl.addAddress(name, { index, address: parsePrefix('192.0.2.10/24'), validSeconds: 300 }));
  attempt(() => rtnl.addAddress(name, { index, address: parsePrefix('fd00::10/64') }));
  attempt(() => rtnl.addRoute(name, { destination: parsePrefix('198.51.100.0/24'), gateway: parseIPv4('192.0.2.1'), index, protocol: RTPROT_STATIC }));
  attempt(() => rtnl.addRoute(name, { destination: parsePrefix('0.0.0.0/0'), gateway: parseIPv4('192.0.2.1'), index, metric: 1025, protocol: 16 }));
  attempt(() => rtnl.addRoute(name, { destination: parsePrefix('fd01::/48'), gateway: parsePrefix('fd00::1/128').bytes, index, protocol: RTPROT_STATIC }));
  // Asked twice: replaced, not an error.
  attempt(() => rtnl.addAddress(name, { index, address: parsePrefix('192.0.2.10/24'), validSeconds: 600 }));
  // Must fail: the gateway is on no connected network.
  attempt(() => rtnl.addRoute(name, { destination: parsePrefix('203.0.113.0/24'), gateway: parseIPv4('203.0.113.1'), index, protocol: RTPROT_STATIC }));
  attempt(() => rtnl.addAddress(name, { index, address: parsePrefix('fd00::20/64') }));
  attempt(() => rtnl.deleteAddress(name, { index, address: parsePrefix('fd00::20/64') }));
  // Must fail: already gone.
  attempt(() => rtnl.deleteAddress(name, { index, address: parsePrefix('fd00::20/64') }));
  console.log(
    JSON.stringify({
      link: ip('link', 'show', name),
      addresses: ip('addr', 'show', name),
      routes: ip('route', 'show'),
      routes6: ip('-6', 'route', 'show', 'dev', name),
      errors,
    }),
  );
} else if (mode === 'dhcp') {
  const [name, resolvPath, speedText, peer] = args as [string, string, string?, string?];
  const speed = Number(speedText ?? 1);
  let renewed: () => void = () => {};
  let renewal = new Promise<void>((resolve) => (renewed = resolve));
  const lines: string[] = [];
  const log = {
    info: (m: string) => (lines.push(`info ${m}`), m.includes(' dhcp renewed ') && renewed()),
    warn: (m: string) => lines.push(`warn ${m}`),
  };
  // Everything real but /etc/resolv.conf, which is the host's.
  const fs: HostFs = { ...nodeHostFs, writeText: (path, text) => nodeHostFs.writeText(path === RESOLV_CONF_PATH ? resolvPath : path, text) };
  const sys = openNetSys();
  const manager = new NetworkManager(
    {
      rtnl: createRtnl(sys),
      fs,
      log,
      hostname: 'judge',
      // The exchange as the judge test checks it: "sent DISCOVER", "got OFFER", ...
      openDhcpSocket: (ifname, onMessage) => {
        const type = (bytes: Uint8Array) => decodeDhcpMessage(bytes).options.messageType;
        const socket = openDhcpSocket(
          sys,
          ifname,
          (bytes) => (lines.push(`got ${type(bytes)}`), process.env.KILN_JUDGE_DUMP && console.error(Buffer.from(bytes).toString('hex')), onMessage(bytes)),
          (m) => log.warn(`socket: ${m}`),
        );
        return { send: (bytes, to) => (lines.push(`sent ${type(bytes)} to ${to}`), socket.send(bytes, to)), close: () => socket.close() };
      },
      now: () => performance.now() * speed,
      setTimer: (ms, fn) => setTimer(ms / speed, fn),
      random: Math.random,
    },
    { interfaces: [{ name, dhcp: true, addresses: [], routes: [] }], dns: ['192.0.2.99'] },
  );
  const summary = manager.start();
  const got = await manager.waitForLeases(20_000 * speed);
  const renewedOrLate = () => Promise.race([renewal, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
  if (got && speed > 1) await renewedOrLate();
  if (got && peer !== undefined) {
    renewal = new Promise<void>((resolve) => (renewed = resolve));
    const settle = () => new Promise((resolve) => setTimeout(resolve, 200));
    execFileSync('ip', ['-n', peer, 'link', 'set', 'kv0', 'down']);
    await settle();
    manager.poll();
    execFileSync('ip', ['-n', peer, 'link', 'set', 'kv0', 'up']);
    await settle();
    manager.poll();
    await renewedOrLate();
  }
  manager.stop();
  console.log(JSON.stringify({ summary, got, lines, addresses: ip('addr', 'show', name), routes: ip('route', 'show') }));
} else if (mode === 'sntp') {
  const offsets: number[] = [];
  const sync = new TimeSync({
    servers: [parseServer(args[0]!)],
    exchange: sntpExchange(() => performance.now()),
    wallNow: () => Date.now(),
    monoNow: () => performance.now(),
    stepClock: (ms) => void offsets.push(ms),
    setTimer,
    random: Math.random,
    log: { info: () => {}, warn: () => {} },
  });
  const result = await sync.start(5_000);
  sync.stop();
  console.log(JSON.stringify({ result, offsets }));
} else if (mode === 'addresses') {
  const node = Object.fromEntries(Object.entries(networkInterfaces()).map(([name, infos]) => [name, (infos ?? []).map((i) => i.cidr)]));
  console.log(JSON.stringify({ kiln: readAddresses(openNetSys(), nodeHostFs), node }));
} else {
  console.error(`unknown mode ${mode}`);
  process.exitCode = 2;
}
