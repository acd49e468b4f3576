import type { AddressInfo } from 'node:net';
import type * as http from 'node:http';
import { afterEach, describe, expect, test } from 'vitest';
import { startManagementServer, type DeviceControl } from './management.ts';
import { bearerMatches } from './token.ts';

const TOKEN = 'kiln-test-token-0123456789';

function fakeDevice(calls: string[]): DeviceControl {
  const followers = new Set<(line: string) => void>();
  return {
    status: () => ({ name: 'dev', uptimeSeconds: 12 }),
    containers: () => [{ name: 'web', state: 'running', pid: 42, starts: 1, image: 'oci:web', restart: 'always' }],
    inspect: (name) => (name === 'web' ? { name, state: 'running' } : undefined),
    start: (name) => (calls.push(`start ${name}`), name === 'web'),
    stop: async (name) => (calls.push(`stop ${name}`), name === 'web'),
    restart: async (name) => (calls.push(`restart ${name}`), name === 'web'),
    logs: (name, tail) => (name === 'web' ? ['one', 'two', 'three'].slice(-tail) : undefined),
    follow: (_name, onLine) => {
      followers.add(onLine);
      setTimeout(() => [...followers].forEach((f) => f('four')), 50);
      return () => followers.delete(onLine);
    },
    reload: () => calls.push('reload'),
    reboot: () => calls.push('reboot'),
    poweroff: () => calls.push('poweroff'),
  };
}

let server: http.Server | undefined;
afterEach(() => {
  server?.close();
  server = undefined;
});

async function tcp(calls: string[]): Promise<string> {
  server = await startManagementServer({ port: 0 }, fakeDevice(calls), () => TOKEN);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
const auth = { authorization: `Bearer ${TOKEN}` };

describe('management API over TCP', () => {
  test('refuses a missing or wrong token with 401, and says which', async () => {
    const base = await tcp([]);
    const none = await fetch(`${base}/v1/containers`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="kiln"');
    expect(await none.json()).toEqual({ error: 'a bearer token is required' });
    const wrong = await fetch(`${base}/v1/containers`, { headers: { authorization: `Bearer ${TOKEN}x` } });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ error: 'wrong token' });
  });

  test('lists and inspects containers; 404 names what exists', async () => {
    const base = await tcp([]);
    expect(await (await fetch(`${base}/v1/containers`, { headers: auth })).json()).toEqual([expect.objectContaining({ name: 'web', pid: 42 })]);
    expect(await (await fetch(`${base}/v1/containers/web`, { headers: auth })).json()).toEqual({ name: 'web', state: 'running' });
    const missing = await fetch(`${base}/v1/containers/db`, { headers: auth });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'no container named "db"; the device runs: web' });
    expect((await fetch(`${base}/v2/x`, { headers: auth })).status).toBe(404);
  });

  test('start, stop, restart, reload, reboot and poweroff reach the device', async () => {
    const calls: string[] = [];
    const base = await tcp(calls);
    for (const action of ['start', 'stop', 'restart'])
      expect((await fetch(`${base}/v1/containers/web/${action}`, { method: 'POST', headers: auth })).status).toBe(200);
    expect((await fetch(`${base}/v1/containers/db/stop`, { method: 'POST', headers: auth })).status).toBe(404);
    for (const action of ['reload', 'reboot', 'poweroff']) expect((await fetch(`${base}/v1/${action}`, { method: 'POST', headers: auth })).status).toBe(202);
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).toEqual(['start web', 'stop web', 'restart web', 'stop db', 'reload', 'reboot', 'poweroff']);
  });

  test('logs: the tail, and with follow the new lines', async () => {
    const base = await tcp([]);
    expect(await (await fetch(`${base}/v1/containers/web/logs?tail=2`, { headers: auth })).text()).toBe('two\nthree\n');
    const followed = await fetch(`${base}/v1/containers/web/logs?tail=1&follow=1`, { headers: auth });
    const reader = followed.body!.getReader();
    let text = '';
    while (!text.includes('four')) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toBe('three\nfour\n');
    await reader.cancel();
  });
});

test('the unix socket needs no token', async () => {
  const socket = `/tmp/kiln-api-test-${process.pid}.sock`;
  server = await startManagementServer({ socket }, fakeDevice([]), undefined);
  const { request } = await import('node:http');
  const body = await new Promise<string>((resolve, reject) => {
    request({ socketPath: socket, path: '/v1/status' }, (res) => {
      let data = '';
      res.on('data', (d) => (data += d));
      res.on('end', () => resolve(data));
    })
      .on('error', reject)
      .end();
  });
  expect(JSON.parse(body)).toEqual({ name: 'dev', uptimeSeconds: 12 });
});

test('bearerMatches: exact token only', () => {
  expect(bearerMatches(`Bearer ${TOKEN}`, TOKEN)).toBe(true);
  expect(bearerMatches(`bearer ${TOKEN}`, TOKEN)).toBe(false);
  expect(bearerMatches(`Bearer ${TOKEN.slice(0, -1)}`, TOKEN)).toBe(false);
  expect(bearerMatches(undefined, TOKEN)).toBe(false);
  expect(bearerMatches('Bearer ', '')).toBe(false);
});
