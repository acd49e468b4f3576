import { describe, expect, it } from 'vitest';
import type { Network } from '../contract/config/secondary-schema.ts';
import { fakeRtnl, fakeTimers } from '../testing/fake-net.ts';
import { fakeFs } from '../testing/fakes.ts';
import { decodeDhcpMessage, encodeDhcpMessage, type DhcpOptions, type MessageType } from './dhcp/message.ts';
import { NetworkManager } from './manager.ts';

const sysNet = (name: string, index: number, mac: string, carrier = '1') => ({
  [`/sys/class/net/${name}/ifindex`]: `${index}\n`,
  [`/sys/class/net/${name}/address`]: `${mac}\n`,
  [`/sys/class/net/${name}/carrier`]: `${carrier}\n`,
});
const LO = sysNet('lo', 1, '00:00:00:00:00:00');
const ETH0 = sysNet('eth0', 2, '52:54:00:12:34:56');

function network(interfaces: Partial<Network['interfaces'][number]>[], dns: string[] = []): Network {
  return { interfaces: interfaces.map((i) => ({ dhcp: false, addresses: [], routes: [], ...i })), dns };
}

function setup(files: Record<string, string>, settings: Network | undefined, failures: Record<string, string> = {}) {
  const fs = fakeFs(files);
  const rtnl = fakeRtnl(failures);
  const timers = fakeTimers(0);
  const lines: string[] = [];
  const sockets = new Map<string, { sent: { bytes: Uint8Array; to: string }[]; deliver: (bytes: Uint8Array) => void; closed: boolean }>();
  const leases: string[] = [];
  const manager = new NetworkManager(
    {
      rtnl,
      fs,
      log: { info: (m) => void lines.push(`info ${m}`), warn: (m) => void lines.push(`warn ${m}`) },
      hostname: 'dev',
      openDhcpSocket: (name, onMessage) => {
        const socket = { sent: [] as { bytes: Uint8Array; to: string }[], deliver: onMessage, closed: false };
        sockets.set(name, socket);
        return { send: (bytes, to) => void socket.sent.push({ bytes, to }), close: () => void (socket.closed = true) };
      },
      now: timers.now,
      setTimer: timers.setTimer,
      random: () => 0.5,
      onLease: (name, lease) => void leases.push(`${name} ${lease.address}`),
    },
    settings,
  );
  /** The DHCP server's answer to what `name` sent last. */
  function reply(name: string, type: MessageType, options: Partial<DhcpOptions> = {}, yiaddr = '10.0.2.15'): void {
    const socket = sockets.get(name)!;
    const request = decodeDhcpMessage(socket.sent[socket.sent.length - 1]!.bytes);
    socket.deliver(
      encodeDhcpMessage({
        op: 'reply',
        xid: request.xid,
        secs: 0,
        broadcast: true,
        ciaddr: '0.0.0.0',
        yiaddr,
        siaddr: '10.0.2.2',
        giaddr: '0.0.0.0',
        chaddr: request.chaddr,
        options: {
          messageType: type,
          serverId: '10.0.2.2',
          leaseSeconds: 86400,
          subnetMask: '255.255.255.0',
          routers: ['10.0.2.2'],
          dnsServers: ['10.0.2.3'],
          ...options,
        },
      }),
    );
  }
  const resolvConf = () => fs.written.get('/etc/resolv.conf')?.at(-1);
  return { fs, rtnl, timers, lines, sockets, leases, manager, reply, resolvConf };
}

describe('NetworkManager.start', () => {
  it('loopback up, then a static interface: MTU, up, addresses, routes, default route; DNS to resolv.conf', () => {
    const t = setup(
      { ...LO, ...ETH0 },
      network(
        [
          {
            name: 'eth0',
            mtu: 1400,
            addresses: ['192.168.1.10/24', 'fd00::10/64'],
            routes: [{ to: '10.9.0.0/16', via: '192.168.1.254' }],
            gateway: '192.168.1.1',
          },
        ],
        ['192.168.1.1'],
      ),
    );
    expect(t.manager.start()).toBe('lo up; eth0 mtu 1400 up 192.168.1.10/24 fd00::10/64 10.9.0.0/16 via 192.168.1.254 default via 192.168.1.1');
    expect(t.rtnl.calls).toEqual([
      'link lo#1 up',
      'link eth0#2 mtu 1400',
      'link eth0#2 up',
      'addr add eth0 192.168.1.10/24',
      'addr add eth0 fd00::10/64',
      'route add 10.9.0.0/16 via 192.168.1.254 dev eth0 proto 4',
      'route add default via 192.168.1.1 dev eth0 proto 4',
    ]);
    expect(t.resolvConf()).toBe("# Written by kiln's init from the config.\nnameserver 192.168.1.1\n");
    expect(t.lines).toEqual([]);
  });

  it('without network settings: loopback only, resolv.conf left alone (a config file may provide it)', () => {
    const t = setup({ ...LO, ...ETH0 }, undefined);
    expect(t.manager.start()).toBe('lo up');
    expect(t.rtnl.calls).toEqual(['link lo#1 up']);
    expect(t.resolvConf()).toBeUndefined();
  });

  it('a failed step is reported and the rest still done', () => {
    const t = setup(
      { ...LO, ...ETH0 },
      network([{ name: 'eth0', addresses: ['192.168.1.10/24'], routes: [{ to: '10.9.0.0/16', via: 'fd00::1' }], gateway: '192.168.9.1' }]),
      {
        'route add default via 192.168.9.1 dev eth0 proto 4': 'ENETUNREACH',
      },
    );
    expect(t.manager.start()).toBe('lo up; eth0 up 192.168.1.10/24 (2 failed)');
    expect(t.lines).toEqual([
      'warn network: eth0: route to 10.9.0.0/16 via fd00::1: the gateway is not an IPv4 address',
      'warn network: eth0: add route default via 192.168.9.1 dev eth0: Network is unreachable (ENETUNREACH)',
    ]);
  });

  it('matches by MAC; an interface not there yet is watched for, and configured when it appears', () => {
    const t = setup(
      { ...LO, ...ETH0 },
      network([
        { mac: '52:54:00:12:34:56', addresses: ['10.1.0.2/24'] },
        { name: 'eth1', addresses: ['10.2.0.2/24'] },
      ]),
    );
    expect(t.manager.start()).toBe('lo up; eth0 up 10.1.0.2/24; eth1 not found (watching for it)');
    for (const [k, v] of Object.entries(sysNet('eth1', 3, '52:54:00:00:00:01'))) t.fs.files.set(k, v);
    t.manager.poll();
    expect(t.lines).toEqual(['info network: appeared: eth1 up 10.2.0.2/24']);
    expect(t.rtnl.calls.slice(-2)).toEqual(['link eth1#3 up', 'addr add eth1 10.2.0.2/24']);
  });

  it('two entries naming one interface: the second is ignored with a warning', () => {
    const t = setup({ ...LO, ...ETH0 }, network([{ name: 'eth0' }, { mac: '52:54:00:12:34:56' }]));
    expect(t.manager.start()).toBe('lo up; eth0 up');
    expect(t.lines).toEqual(['warn network: 52:54:00:12:34:56 is eth0, already configured as eth0: ignored']);
  });
});

describe('NetworkManager: DHCP', () => {
  it('a lease becomes the address (with the lease as lifetime), a default route, resolv.conf and one log line', async () => {
    const t = setup({ ...LO, ...ETH0 }, network([{ name: 'eth0', dhcp: true }], ['1.1.1.1']));
    expect(t.manager.start()).toBe('lo up; eth0 up dhcp');
    expect(t.manager.pendingDhcp()).toEqual(['eth0']);
    const waiting = t.manager.waitForLeases(10_000);
    const discover = decodeDhcpMessage(t.sockets.get('eth0')!.sent[0]!.bytes);
    expect([discover.options.messageType, discover.options.hostname, t.sockets.get('eth0')!.sent[0]!.to]).toEqual(['DISCOVER', 'dev', '255.255.255.255']);
    t.timers.advance(120);
    t.reply('eth0', 'OFFER');
    t.reply('eth0', 'ACK', { domainName: 'lan' });
    expect(await waiting).toBe(true);
    expect(t.rtnl.calls.slice(2)).toEqual(['addr add eth0 10.0.2.15/24 valid 86400', 'route add default via 10.0.2.2 dev eth0 metric 1026 proto 16']);
    expect(t.lines).toEqual(['info network: eth0 dhcp 10.0.2.15/24 gw 10.0.2.2 dns 10.0.2.3 lease 86400 s']);
    expect(t.resolvConf()).toBe("# Written by kiln's init from the config, DHCP on eth0.\nsearch lan\nnameserver 1.1.1.1\nnameserver 10.0.2.3\n");
    expect(t.leases).toEqual(['eth0 10.0.2.15']);
    expect(t.manager.pendingDhcp()).toEqual([]);
  });

  it('renewal: the address again with the new lifetime, no new route, one short line', () => {
    const t = setup({ ...LO, ...ETH0 }, network([{ name: 'eth0', dhcp: true }]));
    t.manager.start();
    t.reply('eth0', 'OFFER');
    t.reply('eth0', 'ACK');
    t.timers.advance(43_200_000);
    t.reply('eth0', 'ACK');
    expect(t.rtnl.calls.slice(-1)).toEqual(['addr add eth0 10.0.2.15/24 valid 86400']);
    expect(t.lines.at(-1)).toBe('info network: eth0 dhcp renewed 10.0.2.15/24, lease 86400 s');
    expect(t.leases).toEqual(['eth0 10.0.2.15', 'eth0 10.0.2.15']);
  });

  it("static routes through a gateway on the DHCP network are tried again once the lease's address is there", () => {
    const t = setup({ ...LO, ...ETH0 }, network([{ name: 'eth0', dhcp: true, routes: [{ to: '192.168.77.0/24', via: '10.0.2.2' }] }]), {
      'route add 192.168.77.0/24 via 10.0.2.2 dev eth0 proto 4': 'ENETUNREACH',
    });
    expect(t.manager.start()).toBe('lo up; eth0 up dhcp (1 failed)');
    expect(t.lines).toEqual([
      'warn network: eth0: add route 192.168.77.0/24 via 10.0.2.2 dev eth0: Network is unreachable (ENETUNREACH) (tried again when a DHCP lease comes)',
    ]);
    delete t.rtnl.failures['route add 192.168.77.0/24 via 10.0.2.2 dev eth0 proto 4'];
    t.reply('eth0', 'OFFER');
    t.reply('eth0', 'ACK');
    expect(t.rtnl.calls.slice(-1)).toEqual(['route add 192.168.77.0/24 via 10.0.2.2 dev eth0 proto 4']);
    expect(t.lines.slice(1)).toEqual([
      'info network: eth0 dhcp 10.0.2.15/24 gw 10.0.2.2 dns 10.0.2.3 lease 86400 s',
      'info network: eth0 routes with the lease: 192.168.77.0/24 via 10.0.2.2',
    ]);
    // Renewals do not repeat it.
    t.timers.advance(43_200_000);
    t.reply('eth0', 'ACK');
    expect(t.rtnl.calls.filter((c) => c.startsWith('route add 192.168.77.0/24')).length).toBe(2);
  });

  it('a static gateway wins: DHCP adds no default route; a DHCP MTU applies when the config sets none', () => {
    const t = setup({ ...LO, ...ETH0 }, network([{ name: 'eth0', dhcp: true, gateway: '10.0.2.1' }]));
    t.manager.start();
    t.reply('eth0', 'OFFER');
    t.reply('eth0', 'ACK', { mtu: 1400 });
    expect(t.rtnl.calls.filter((c) => c.includes('proto 16'))).toEqual([]);
    expect(t.rtnl.calls).toContain('link eth0#2 mtu 1400');
  });

  it('the boot waits a bounded time, then goes on; the lease is logged when it comes', async () => {
    const t = setup({ ...LO, ...ETH0 }, network([{ name: 'eth0', dhcp: true }]));
    t.manager.start();
    const waiting = t.manager.waitForLeases(10_000);
    t.timers.advance(10_000);
    expect(await waiting).toBe(false);
    expect(t.manager.pendingDhcp()).toEqual(['eth0']);
    t.timers.advance(5_000);
    t.reply('eth0', 'OFFER');
    t.reply('eth0', 'ACK');
    expect(t.lines.at(-1)).toBe('info network: eth0 dhcp 10.0.2.15/24 gw 10.0.2.2 dns 10.0.2.3 lease 86400 s');
  });

  it('a lost lease takes its address, route and name servers away', () => {
    const t = setup({ ...LO, ...ETH0 }, network([{ name: 'eth0', dhcp: true }]));
    t.manager.start();
    t.reply('eth0', 'OFFER');
    t.reply('eth0', 'ACK', { leaseSeconds: 600 });
    t.timers.advance(600_000);
    expect(t.lines).toContain('warn network: eth0 dhcp lost 10.0.2.15/24 (the lease expired)');
    expect(t.rtnl.calls.slice(-2)).toEqual(['route del default via 10.0.2.2 dev eth0', 'addr del eth0 10.0.2.15/24']);
    expect(t.resolvConf()).toBe("# Written by kiln's init from the config.\n");
  });

  it('an address the kernel already dropped is no error', () => {
    const t = setup({ ...LO, ...ETH0 }, network([{ name: 'eth0', dhcp: true }]), {
      'addr del eth0 10.0.2.15/24': 'EADDRNOTAVAIL',
      'route del default via 10.0.2.2 dev eth0': 'ESRCH',
    });
    t.manager.start();
    t.reply('eth0', 'OFFER');
    t.reply('eth0', 'ACK', { leaseSeconds: 600 });
    t.timers.advance(600_000);
    expect(t.lines.filter((l) => l.startsWith('warn'))).toEqual(['warn network: eth0 dhcp lost 10.0.2.15/24 (the lease expired)']);
  });

  it('a socket that cannot be opened: warned, the interface still up', () => {
    const t = setup({ ...LO, ...ETH0 }, network([{ name: 'eth0', dhcp: true }]));
    const manager = new NetworkManager(
      {
        rtnl: t.rtnl,
        fs: t.fs,
        log: { info: () => {}, warn: (m) => void t.lines.push(m) },
        hostname: 'dev',
        now: t.timers.now,
        setTimer: t.timers.setTimer,
        random: () => 0.5,
        openDhcpSocket: () => {
          throw new Error('bind(0.0.0.0:68 on eth0): Address already in use (EADDRINUSE)');
        },
      },
      network([{ name: 'eth0', dhcp: true }]),
    );
    expect(manager.start()).toBe('lo up; eth0 up dhcp failed');
    expect(t.lines).toEqual(['network: eth0 dhcp: cannot open its socket: bind(0.0.0.0:68 on eth0): Address already in use (EADDRINUSE)']);
  });
});

describe('NetworkManager.poll: links', () => {
  it('logs carrier changes; DHCP stops on link down and verifies its lease on link up', () => {
    const t = setup({ ...LO, ...ETH0 }, network([{ name: 'eth0', dhcp: true }]));
    t.manager.start();
    t.reply('eth0', 'OFFER');
    t.reply('eth0', 'ACK');
    t.manager.poll();
    expect(t.lines.length).toBe(1);
    t.fs.files.set('/sys/class/net/eth0/carrier', '0\n');
    t.manager.poll();
    t.manager.poll();
    expect(t.lines.slice(1)).toEqual(['info network: eth0 link down']);
    expect(t.timers.waiting()).toEqual([]);
    const sent = t.sockets.get('eth0')!.sent.length;
    t.fs.files.set('/sys/class/net/eth0/carrier', '1\n');
    t.manager.poll();
    expect(t.lines.slice(2)).toEqual(['info network: eth0 link up']);
    const request = decodeDhcpMessage(t.sockets.get('eth0')!.sent[sent]!.bytes);
    expect([request.options.messageType, request.options.requestedAddress]).toEqual(['REQUEST', '10.0.2.15']);
  });

  it('an unreadable carrier (link administratively down) is not a change', () => {
    const t = setup({ ...LO, ...ETH0 }, network([{ name: 'eth0' }]));
    t.manager.start();
    t.fs.files.delete('/sys/class/net/eth0/carrier');
    t.manager.poll();
    expect(t.lines).toEqual([]);
  });

  it('an interface that goes away is forgotten, its DHCP socket closed, and found again when it returns', () => {
    const t = setup({ ...LO, ...ETH0 }, network([{ name: 'eth0', dhcp: true }]));
    t.manager.start();
    for (const key of Object.keys(ETH0)) t.fs.files.delete(key);
    t.manager.poll();
    expect(t.lines).toEqual(['info network: eth0 is gone']);
    expect(t.sockets.get('eth0')!.closed).toBe(true);
    for (const [k, v] of Object.entries(ETH0)) t.fs.files.set(k, v);
    t.manager.poll();
    expect(t.lines.at(-1)).toBe('info network: appeared: eth0 up dhcp');
    expect(t.sockets.get('eth0')!.closed).toBe(false);
  });
});
