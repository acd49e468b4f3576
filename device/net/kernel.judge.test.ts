// Second judges for the network and time code, run on this host inside throwaway network namespaces (root only):
// the Linux kernel and iproute2's `ip` judge the rtnetlink requests, dnsmasq is the DHCP server, chronyd the
// SNTP server (with -x: it never touches this host's clock). The code runs as on the device, koffi and all.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const judgeScript = [join(root, 'node_modules/tsx/dist/cli.mjs'), join(root, 'device/testing/net-judge.ts')];
const dir = mkdtempSync(join(tmpdir(), 'kiln-net-judge-'));
const namespaces: string[] = [];
const daemons: ChildProcess[] = [];
afterAll(() => {
  for (const daemon of daemons) daemon.kill('SIGTERM');
  for (const ns of namespaces) execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
});

const PACKAGES: Record<string, string> = { ip: 'iproute2', unshare: 'util-linux', dnsmasq: 'dnsmasq-base', chronyd: 'chrony' };

function run(tool: string, args: string[]): string {
  try {
    return execFileSync(tool, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${tool} not found: install the ${PACKAGES[tool]} package`);
    const e = error as { stdout?: string; stderr?: string };
    throw new Error(`${tool} ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

function daemon(tool: string, args: string[]): ChildProcess {
  const child = spawn(tool, args, { stdio: 'ignore' });
  child.on('error', () => {});
  daemons.push(child);
  return child;
}

const waitFor = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface AddrInfo {
  family: string;
  local: string;
  prefixlen: number;
  broadcast?: string;
  valid_life_time: number;
}
interface Route {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol: string;
  metric?: number;
}

// Namespaces need root; CI runs the suite as root (.ci/run).
describe.skipIf(process.getuid?.() !== 0)('network code against the real kernel', () => {
  it("rtnetlink: MTU, link up, IPv4/IPv6 addresses with lifetimes, routes, and the kernel's refusals", () => {
    const out = run('unshare', [
      '-n',
      '-m',
      'sh',
      '-c',
      `mount -t sysfs none /sys && ip link add v0 type veth peer name v1 && ip link set v1 up && exec "$0" "$@"`,
      process.execPath,
      ...judgeScript,
      'rtnl',
      'v0',
    ]);
    const result = JSON.parse(out) as {
      link: { mtu: number; flags: string[] }[];
      addresses: { addr_info: AddrInfo[] }[];
      routes: Route[];
      routes6: Route[];
      errors: string[];
    };
    expect(result.link[0]!.mtu).toBe(1400);
    expect(result.link[0]!.flags).toContain('UP');
    const addresses = result.addresses[0]!.addr_info.filter((a) => !a.local.startsWith('fe80'));
    expect(addresses.map((a) => [a.family, a.local, a.prefixlen, a.broadcast, a.valid_life_time])).toEqual([
      ['inet', '192.0.2.10', 24, '192.0.2.255', 600], // the second add replaced the first, with the new lifetime
      ['inet6', 'fd00::10', 64, undefined, 4294967295],
    ]);
    expect(result.routes.map((r) => [r.dst, r.gateway, r.protocol, r.metric])).toEqual([
      ['default', '192.0.2.1', 'dhcp', 1025],
      ['192.0.2.0/24', undefined, 'kernel', undefined],
      ['198.51.100.0/24', '192.0.2.1', 'static', undefined],
    ]);
    expect(result.routes6.find((r) => r.dst === 'fd01::/48')).toMatchObject({ gateway: 'fd00::1', protocol: 'static' });
    expect(result.errors).toEqual([
      'add route 203.0.113.0/24 via 203.0.113.1 dev v0: Network is unreachable (ENETUNREACH)',
      'delete address fd00::20/64 from v0: Cannot assign requested address (EADDRNOTAVAIL)',
    ]);
  });

  it("addresses for the status endpoint: the kernel's dump, also of an interface that is up without a carrier", () => {
    // v0 is up with its addresses, but its peer v1 is down: no carrier, not RUNNING. Node's os.networkInterfaces()
    // leaves v0 out entirely (the e2e's "eth0 has no address at all"); the rtnetlink dump lists what is there.
    const out = run('unshare', [
      '-n',
      '-m',
      'sh',
      '-c',
      'mount -t sysfs none /sys && ip link set lo up && ip link add v0 type veth peer name v1 && ' +
        'ip addr add 192.0.2.10/24 dev v0 && ip addr add fd00::10/64 dev v0 nodad && ip link set v0 up && exec "$0" "$@"',
      process.execPath,
      ...judgeScript,
      'addresses',
    ]);
    const result = JSON.parse(out) as { kiln: Record<string, string[]>; node: Record<string, string[]> };
    expect(result.kiln).toEqual({ lo: ['127.0.0.1/8', '::1/128'], v0: ['192.0.2.10/24', 'fd00::10/64'] });
    expect(result.node).toEqual({ lo: ['127.0.0.1/8', '::1/128'] });
  });

  it('DHCP with dnsmasq over a veth pair: DISCOVER/OFFER/REQUEST/ACK by broadcast, a unicast renewal at T1, the link down and up', async () => {
    const [server, client] = [`kiln-judge-s${process.pid}`, `kiln-judge-c${process.pid}`];
    for (const ns of [server, client]) {
      run('ip', ['netns', 'add', ns]);
      namespaces.push(ns);
    }
    run('ip', ['link', 'add', 'kv0', 'netns', server, 'type', 'veth', 'peer', 'name', 'kv1', 'netns', client]);
    run('ip', ['-n', server, 'addr', 'add', '192.0.2.1/24', 'dev', 'kv0']);
    run('ip', ['-n', server, 'link', 'set', 'kv0', 'up']);
    daemon('ip', [
      'netns',
      'exec',
      server,
      'dnsmasq',
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      '--port=0',
      '--interface=kv0',
      '--bind-interfaces',
      '--no-ping',
      '--dhcp-range=192.0.2.50,192.0.2.60,255.255.255.0,2m',
      '--dhcp-option=option:router,192.0.2.1',
      '--dhcp-option=option:dns-server,192.0.2.53',
      '--dhcp-option=option:domain-name,judge.test',
      `--dhcp-leasefile=${join(dir, 'leases')}`,
    ]);
    await waitFor(500);
    const resolvConf = join(dir, 'resolv.conf');
    // The client's clock runs 40 times fast: T1 of the 2-minute lease comes after 1.5 s. Then the server's end of the
    // link goes down and up.
    const out = run('ip', ['netns', 'exec', client, process.execPath, ...judgeScript, 'dhcp', 'kv1', resolvConf, '40', server]);
    const result = JSON.parse(out) as { summary: string; got: boolean; lines: string[]; addresses: { addr_info: AddrInfo[] }[]; routes: Route[] };
    expect(result.summary).toBe('lo up; kv1 up dhcp');
    expect(result.got).toBe(true);
    const lease = result.lines.find((l) => l.startsWith('info network: kv1 dhcp 192.0.2.'))!;
    expect(lease).toMatch(/^info network: kv1 dhcp 192\.0\.2\.(5\d|60)\/24 gw 192\.0\.2\.1 dns 192\.0\.2\.53 lease 120 s$/);
    const address = /dhcp (\S+)\/24/.exec(lease)![1];
    expect(result.lines).toEqual([
      'sent DISCOVER to 255.255.255.255',
      'got OFFER',
      'sent REQUEST to 255.255.255.255',
      'got ACK',
      lease,
      'sent REQUEST to 192.0.2.1',
      'got ACK',
      `info network: kv1 dhcp renewed ${address}/24, lease 120 s`,
      // The carrier, seen by the once-a-second poll; back up, DHCP checks its lease (INIT-REBOOT, broadcast).
      'info network: kv1 link down',
      'info network: kv1 link up',
      'sent REQUEST to 255.255.255.255',
      'got ACK',
      `info network: kv1 dhcp renewed ${address}/24, lease 120 s`,
    ]);
    const v4 = result.addresses[0]!.addr_info.filter((a) => a.family === 'inet');
    expect(v4.map((a) => [a.local, a.prefixlen, a.broadcast])).toEqual([[address, 24, '192.0.2.255']]);
    expect(v4[0]!.valid_life_time).toBeGreaterThan(100);
    expect(v4[0]!.valid_life_time).toBeLessThanOrEqual(120);
    expect(result.routes[0]).toMatchObject({ dst: 'default', gateway: '192.0.2.1', dev: 'kv1', protocol: 'dhcp' });
    expect(readFileSync(resolvConf, 'utf8')).toBe(
      "# Written by kiln's init from the config, DHCP on kv1.\nsearch judge.test\nnameserver 192.0.2.99\nnameserver 192.0.2.53\n",
    );
    const leases = readFileSync(join(dir, 'leases'), 'utf8');
    expect(leases).toContain(` ${address} `);
    expect(leases).toContain(' judge '); // the hostname the client sent (option 12)
  }, 60_000);

  it('SNTP with chronyd: a valid answer, the offset of two clocks that agree', async () => {
    const port = 20_000 + (process.pid % 10_000);
    const conf = join(dir, 'chrony.conf');
    writeFileSync(
      conf,
      [`port ${port}`, 'bindaddress 127.0.0.1', 'allow 127.0.0.1', 'local stratum 3', 'cmdport 0', `pidfile ${join(dir, 'chronyd.pid')}`, ''].join('\n'),
    );
    daemon('chronyd', ['-x', '-d', '-f', conf]);
    await waitFor(1000);
    const result = JSON.parse(run(process.execPath, [...judgeScript, 'sntp', `127.0.0.1:${port}`])) as {
      result: { ok: boolean; source: string; offsetMs: number; delayMs: number; stratum: number; stepped: boolean };
      offsets: number[];
    };
    expect(result.result).toMatchObject({ ok: true, source: `127.0.0.1:${port}`, stratum: 3, stepped: false });
    // The same host's clock on both ends: the offset is the asymmetry of the round trip, well under STEP_MIN_MS.
    expect(Math.abs(result.result.offsetMs)).toBeLessThan(50);
    expect(result.result.delayMs).toBeGreaterThanOrEqual(0);
    expect(result.offsets).toEqual([]);
  }, 30_000);
});
