/**
 * End to end: a device with DHCP on eth0, an SNTP server and the status endpoint, booted by `kiln run` under
 * QEMU's user networking. The host runs the SNTP server (10.0.2.2 in the guest is the host's 127.0.0.1), with a
 * clock one hour ahead, so a synchronised device shows it. One boot checks the DHCP lease, the clock, the port
 * forward to the status endpoint, and the clean power-off on SIGTERM.
 */
import { spawn } from 'node:child_process';
import * as dgram from 'node:dgram';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { decodeSntpPacket, encodeSntpPacket, toNtp } from '../../device/time/sntp.ts';
import { KILN_FROM_SOURCE, kiln } from '../helpers/cli.js';

const root = path.resolve(import.meta.dirname, '../..');
/** The host's SNTP server runs this far ahead of the real time. */
const AHEAD_MS = 3600_000;
const GUEST_STATUS_PORT = 8080;

let work: string;
let efi: string;
let sntp: dgram.Socket;
let sntpPort: number;
const sntpRequests: string[] = [];

/** A free TCP port on 127.0.0.1 (closed again at once; QEMU binds it moments later). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A tiny SNTP server (RFC 4330 §5, server side): stratum 2, its clock AHEAD_MS ahead, the request's transmit echoed. */
function startSntpServer(): Promise<void> {
  sntp = dgram.createSocket('udp4');
  sntp.on('message', (message, remote) => {
    const request = decodeSntpPacket(message);
    sntpRequests.push(`${remote.address} mode ${request.mode} version ${request.version}`);
    const now = toNtp(Date.now() + AHEAD_MS);
    const reply = encodeSntpPacket({
      leap: 0,
      version: 4,
      mode: 4,
      stratum: 2,
      poll: 6,
      precision: -20,
      rootDelay: 0,
      rootDispersion: 0,
      referenceId: 0x7f000001,
      reference: now,
      originate: request.transmit,
      receive: now,
      transmit: now,
    });
    sntp.send(reply, remote.port, remote.address);
  });
  return new Promise((resolve) =>
    sntp.bind(0, '127.0.0.1', () => {
      sntpPort = sntp.address().port;
      resolve();
    }),
  );
}

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'kiln-net-'));
  await startSntpServer();
  await writeFile(
    path.join(work, 'kiln.yml'),
    [
      'name: nettest',
      'network:',
      '  interfaces:',
      '    - name: eth0',
      '      dhcp: true',
      'time:',
      `  servers: ["10.0.2.2:${sntpPort}"]`,
      `statusPort: ${GUEST_STATUS_PORT}`,
      '',
    ].join('\n'),
  );
  await copyFile(path.join(root, 'examples/kiln.lock'), path.join(work, 'kiln.lock'));
  const r = await kiln(['build', path.join(work, 'kiln.yml'), '--out', path.join(work, 'out'), '--profile', 'fast', '--json', '-q']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const built = JSON.parse(r.stdout) as { efi: string; modules: string[] };
  // The network section alone brings the NIC driver along.
  expect(built.modules).toEqual(expect.arrayContaining(['virtio_pci', 'virtio_net']));
  efi = built.efi;
});
afterAll(async () => {
  sntp?.close();
  await rm(work, { recursive: true, force: true });
});

describe('kiln run --forward: bad input', () => {
  test('a forward without a guest port is refused, with the syntax', async () => {
    const r = await kiln(['run', efi, '--forward', '8080']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--forward 8080: expected HOSTPORT:GUESTPORT or HOSTADDR:HOSTPORT:GUESTPORT. Write it as HOSTPORT:GUESTPORT (e.g. 8080:80)');
  });

  test('forwards need the network', async () => {
    const r = await kiln(['run', efi, '--forward', '18080:8080', '--no-network']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('forwards need the network: --forward cannot go with --no-network');
  });

  test('one host port twice is refused before QEMU starts', async () => {
    const r = await kiln(['run', efi, '--forward', '18080:8080', '--forward', '18080:22']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--forward: host port 18080 is forwarded twice');
  });
});

describe('network and time in QEMU user networking', () => {
  test('DHCP lease logged, clock synchronised from the host, status endpoint reached through --forward, clean power-off', async () => {
    const hostPort = await freePort();
    let status: { code: number; body: unknown } | { error: string } | undefined;
    let stopping = false;
    const run = await new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [...KILN_FROM_SOURCE, 'run', efi, '--forward', `127.0.0.1:${hostPort}:${GUEST_STATUS_PORT}`, '--timeout', '300'], {
        cwd: root,
        env: { ...process.env, CI: 'true' },
      });
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (!stopping && /kiln: ready in \d+ ms/.test(out)) {
          stopping = true;
          // The host side of the forward is QEMU's; the request crosses slirp to the guest's port 8080.
          fetch(`http://127.0.0.1:${hostPort}/status`, { signal: AbortSignal.timeout(30_000) })
            .then(async (response) => (status = { code: response.status, body: await response.json() }))
            .catch((error: Error) => (status = { error: error.message }))
            .finally(() => child.kill('SIGTERM'));
        }
      });
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, out, err }));
    });
    const hostNow = Date.now();

    // DHCP from QEMU's built-in server, logged with the address.
    expect(run.out).toMatch(/kiln: network: eth0 dhcp 10\.0\.2\.15\/24 gw 10\.0\.2\.2 dns 10\.0\.2\.3 lease 86400 s\r?\n/);
    expect(run.out).toMatch(/kiln: network: lo up; eth0 up dhcp; leases in \d+\.\d s \(\d+ ms\)/);
    // The clock stepped by the host server's hour.
    const synced = new RegExp(`kiln: time: synchronised with 10\\.0\\.2\\.2:${sntpPort}, offset \\+(\\d+\\.\\d{3}) s, stratum 2 \\(\\d+ ms\\)`).exec(run.out);
    expect(synced, run.out.slice(-3000)).not.toBeNull();
    expect(Math.abs(Number(synced![1]) * 1000 - AHEAD_MS)).toBeLessThan(5000);
    expect(sntpRequests[0]).toBe('127.0.0.1 mode 3 version 4');
    // The status endpoint, through the forward.
    expect(status).toMatchObject({ code: 200 });
    const body = (
      status as {
        body: {
          name: string;
          hostname: string;
          uptimeSeconds: number;
          time: { now: string; synchronised: boolean; source: string };
          addresses: Record<string, string[]>;
        };
      }
    ).body;
    expect(body).toMatchObject({ name: 'nettest', hostname: 'nettest', time: { synchronised: true, source: `10.0.2.2:${sntpPort}` } });
    // The kernel's addresses (an rtnetlink dump), listed whatever the link's state at that moment.
    expect(body.addresses.eth0).toContain('10.0.2.15/24');
    expect(body.addresses.lo).toContain('127.0.0.1/8');
    expect(body.uptimeSeconds).toBeGreaterThan(1);
    // The device's clock is the server's: an hour ahead of this host's (give or take the boot's tail).
    expect(Math.abs(Date.parse(body.time.now) - (hostNow + AHEAD_MS))).toBeLessThan(60_000);
    // SIGTERM to kiln run: the power button, a clean shutdown, exit 0.
    expect(run.out).toMatch(/kiln: shutting down \(power button\)/);
    expect(run.out).toMatch(/reboot: Power down/);
    expect(run.code).toBe(0);
  }, 400_000);
});
