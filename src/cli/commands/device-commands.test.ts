/**
 * The device commands (ps, status, logs --device, start/stop/restart, reboot/poweroff) against the real management
 * server from device/api/management.ts on loopback, bound to a fake device; the CLI runs as a child process.
 */
import { spawn } from 'node:child_process';
import type * as http from 'node:http';
import * as net from 'node:net';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { startManagementServer, type DeviceControl } from '../../../device/api/management.ts';
import { kiln, KILN_FROM_SOURCE } from '../../../test/helpers/cli.js';

const TOKEN = 'kiln-test-token-0123456789';
const env = { KILN_TOKEN: TOKEN };
// Each kiln call is a child process compiling the CLI through tsx: seconds each on a busy machine.
const SLOW = { timeout: 90_000 };

function fakeDevice(calls: string[]): DeviceControl {
  const containers = [
    {
      name: 'web',
      state: 'running',
      pid: 42,
      starts: 3,
      lastExit: { code: 1, signal: null, ranMs: 2500, description: 'exited with code 1' },
      image: 'oci:web',
      restart: 'always',
    },
    { name: 'db', state: 'stopped', starts: 1, image: 'oci:postgres:16', restart: 'on-failure' },
  ];
  const view = (name: string) => containers.find((c) => c.name === name);
  return {
    status: () => ({
      name: 'gw',
      hostname: 'gw-01',
      kiln: '0.1.0',
      buildId: 'b1',
      arch: 'x86_64',
      uptimeSeconds: 3725,
      mounts: ['/data'],
      containers: containers.map((c) => ({ name: c.name, state: c.state })),
    }),
    containers: () => containers,
    inspect: (name) => view(name),
    start: (name) => (calls.push(`start ${name}`), view(name) !== undefined),
    stop: async (name) => (calls.push(`stop ${name}`), view(name) !== undefined),
    restart: async (name) => {
      calls.push(`restart ${name}`);
      const c = view(name);
      if (c === undefined) return false;
      Object.assign(c, { state: 'running', pid: 99, starts: c.starts + 1 });
      return true;
    },
    logs: (name, tail) => (view(name) === undefined ? undefined : tail === 0 ? [] : ['one', 'two', 'three', 'four'].slice(-tail)),
    follow: (_name, onLine) => {
      let n = 0;
      const timer = setInterval(() => onLine(`new ${++n}`), 30);
      return () => {
        calls.push('unfollowed');
        clearInterval(timer);
      };
    },
    reload: () => calls.push('reload'),
    reboot: () => calls.push('reboot'),
    poweroff: () => calls.push('poweroff'),
  };
}

let server: http.Server;
let device: string;
let calls: string[] = [];
let connections = 0;
let dir: string;

beforeAll(async () => {
  server = await startManagementServer({ port: 0 }, fakeDevice(calls), () => TOKEN);
  server.on('connection', () => connections++);
  device = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-device-'));
});
afterAll(() => void server.close());
afterEach(() => void calls.splice(0));

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('kiln ps --device', SLOW, () => {
  test('a table of the containers', async () => {
    const r = await kiln(['ps', '--device', device], { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'NAME  STATE    PID  STARTS  LAST EXIT           IMAGE',
        'web   running  42   3       exited with code 1  oci:web',
        'db    stopped  -    1       -                   oci:postgres:16',
        '',
      ].join('\n'),
    );
  });

  test('--json: the API answer as it is; the token from --token-file', async () => {
    const file = path.join(dir, 'token');
    await writeFile(file, `${TOKEN}\n`);
    const r = await kiln(['ps', '--device', device, '--json', '--token-file', file], { env: { KILN_TOKEN: '' } });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([
      expect.objectContaining({ name: 'web', pid: 42, starts: 3 }),
      expect.objectContaining({ name: 'db', state: 'stopped' }),
    ]);
  });

  test('an IPv6 address in brackets', async () => {
    const v6 = await startManagementServer({ port: 0 }, fakeDevice([]), () => TOKEN);
    try {
      const r = await kiln(['ps', '--device', `[::1]:${(v6.address() as net.AddressInfo).port}`, '--json'], { env });
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout)).toHaveLength(2);
    } finally {
      v6.close();
    }
  });
});

describe('kiln logs --device', SLOW, () => {
  test('--tail: the last lines', async () => {
    const r = await kiln(['logs', '--device', device, 'web', '--tail', '2'], { env });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('three\nfour\n');
  });

  test('--follow: streams new lines until ctrl-c (SIGINT), then exits 0 and the device stops following', async () => {
    const child = spawn(process.execPath, [...KILN_FROM_SOURCE, 'logs', '--device', device, 'web', '--tail', '1', '--follow'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const code = new Promise<number | null>((resolve) => child.on('close', resolve));
    const streaming = new Promise<void>((resolve) =>
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (out.includes('new 3\n')) resolve();
      }),
    );
    // Ended before the third new line: fail now with what it printed, not at the test timeout.
    await Promise.race([streaming, code.then((c) => expect.fail(`kiln exited (${c}) while following: ${out}${err}`))]);
    child.kill('SIGINT');
    expect(await code).toBe(0);
    expect(err).toBe('');
    expect(out).toMatch(/^four\nnew 1\nnew 2\nnew 3\n/);
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toContain('unfollowed');
  });

  test('the disk options are refused with --device, and the device options without it', async () => {
    const r = await kiln(['logs', '--device', device, 'web', '--boot', '0'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('kiln: error: --boot: only for a disk image, not with --device\n');
    const s = await kiln(['logs', 'disk.img', '--follow'], { env });
    expect(s.code).toBe(1);
    expect(s.stderr.split('\n')[0]).toBe('kiln: error: --follow: only with --device HOST:PORT (a running device)');
  });

  test('an unknown container: 404 with the names the device runs', async () => {
    const r = await kiln(['logs', '--device', device, 'nope'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`kiln: error: ${device}: no container named "nope"; the device runs: web, db\n`);
  });
});

describe('container actions, power, status', SLOW, () => {
  test('restart reaches the device and prints the state after', async () => {
    const r = await kiln(['restart', '--device', device, 'web'], { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(calls).toEqual(['restart web']);
    expect(r.stdout).toBe('web: running, pid 99, 4 starts, last exit: exited with code 1\n');
  });

  test('start and stop reach the device; an unknown container is a 404 line', async () => {
    expect((await kiln(['stop', '--device', device, 'db', '--json'], { env })).code).toBe(0);
    expect((await kiln(['start', '--device', device, 'db'], { env })).stdout).toBe('db: stopped, 1 start\n');
    const missing = await kiln(['restart', '--device', device, 'cache'], { env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`kiln: error: ${device}: no container named "cache"; the device runs: web, db\n`);
    expect(calls).toEqual(['stop db', 'start db', 'restart cache']);
  });

  test('reboot and poweroff', async () => {
    expect((await kiln(['reboot', '--device', device], { env })).stdout).toBe(`${device}: rebooting\n`);
    expect((await kiln(['poweroff', '--device', device], { env })).stdout).toBe(`${device}: powering off\n`);
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).toEqual(['reboot', 'poweroff']);
  });

  test('status: a few lines, or --json', async () => {
    const r = await kiln(['status', '--device', device], { env });
    expect(r.stdout).toContain('hostname:   gw-01\n');
    expect(r.stdout).toContain('uptime:     1h 2m\n');
    expect(r.stdout).toContain('containers: web (running), db (stopped)\n');
    expect(JSON.parse((await kiln(['status', '--device', device, '--json'], { env })).stdout)).toMatchObject({ name: 'gw', uptimeSeconds: 3725 });
  });
});

describe('errors: one line, exit 1', SLOW, () => {
  test('a wrong token: 401', async () => {
    const r = await kiln(['ps', '--device', device], { env: { KILN_TOKEN: `${TOKEN}x` } });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`kiln: error: ${device}: wrong or missing token: set KILN_TOKEN or --token-file (the device said: wrong token)\n`);
  });

  test('no token at all, or an empty one: an error before any request', async () => {
    const before = connections;
    const unset = await kiln(['restart', '--device', device, 'web'], { env: { KILN_TOKEN: undefined } });
    expect(unset.code).toBe(1);
    expect(unset.stderr).toBe(
      "kiln: error: no token for the device's management API: KILN_TOKEN is not set and no --token-file was given\n" +
        "kiln: Set KILN_TOKEN or pass --token-file PATH (a file holding the secondary config's api.token).\n",
    );
    const empty = await kiln(['restart', '--device', device, 'web'], { env: { KILN_TOKEN: '' } });
    expect(empty.stderr.split('\n')[0]).toBe("kiln: error: no token for the device's management API: KILN_TOKEN is empty");
    const file = path.join(dir, 'empty-token');
    await writeFile(file, '\n');
    const emptyFile = await kiln(['ps', '--device', device, '--token-file', file], { env });
    expect(emptyFile.stderr.split('\n')[0]).toBe(`kiln: error: no token for the device's management API: --token-file ${file} is empty`);
    expect(connections).toBe(before);
  });

  test('a closed port: connection refused', async () => {
    const port = await closedPort();
    const r = await kiln(['ps', '--device', `127.0.0.1:${port}`], { env });
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toBe(`kiln: error: 127.0.0.1:${port}: connection refused: nothing listens on port ${port}`);
  });

  test('a device that never answers: the timeout', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      const r = await kiln(['ps', '--device', `127.0.0.1:${port}`, '--timeout', '0.3'], { env });
      expect(r.code).toBe(1);
      expect(r.stderr.split('\n')[0]).toBe(`kiln: error: 127.0.0.1:${port}: no answer to GET /v1/containers within 0.3 s`);
    } finally {
      silent.close();
    }
  });

  test("an address without a port says the port is the config's apiPort", async () => {
    const r = await kiln(['ps', '--device', '127.0.0.1'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toBe(
      "kiln: error: --device 127.0.0.1: no port: the management API has no default port, the device config's apiPort names it",
    );
  });
});
