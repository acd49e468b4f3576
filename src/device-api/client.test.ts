import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { DeviceClient, parseDeviceAddress, routes } from './client.js';

describe('parseDeviceAddress', () => {
  test('HOST:PORT, a name, [IPV6]:PORT', () => {
    expect(parseDeviceAddress('127.0.0.1:18080')).toEqual({ host: '127.0.0.1', port: 18080, label: '127.0.0.1:18080' });
    expect(parseDeviceAddress('gw.local:1')).toMatchObject({ host: 'gw.local', port: 1 });
    expect(parseDeviceAddress('[::1]:18080')).toMatchObject({ host: '::1', port: 18080 });
    expect(parseDeviceAddress('[fe80::1%eth0]:65535')).toMatchObject({ host: 'fe80::1%eth0', port: 65535 });
  });

  test('no port, a bad port, an IPv6 address without brackets: one line each', () => {
    expect(() => parseDeviceAddress('127.0.0.1')).toThrow(
      "--device 127.0.0.1: no port: the management API has no default port, the device config's apiPort names it",
    );
    expect(() => parseDeviceAddress('[::1]')).toThrow('no port');
    expect(() => parseDeviceAddress('gw:0')).toThrow('--device gw:0: port "0" is not 1-65535');
    expect(() => parseDeviceAddress('gw:http')).toThrow('port "http" is not 1-65535');
    expect(() => parseDeviceAddress('::1:18080')).toThrow('--device ::1:18080: an IPv6 address needs brackets');
    expect(() => parseDeviceAddress('::1')).toThrow('--device ::1: an IPv6 address needs brackets');
    expect(() => parseDeviceAddress(':18080')).toThrow('--device :18080: no host');
  });
});

test('routes encode the container name, so a name never becomes another route', () => {
  expect(routes.action('../reboot', 'stop')).toBe('/v1/containers/..%2Freboot/stop');
  expect(routes.logs('web', { tail: 0, follow: true })).toBe('/v1/containers/web/logs?tail=0&follow=1');
  expect(routes.logs('web', {})).toBe('/v1/containers/web/logs');
});

describe('DeviceClient against odd servers', () => {
  let server: http.Server | undefined;
  afterEach(() => void server?.close());
  async function serve(handler: http.RequestListener): Promise<DeviceClient> {
    server = http.createServer(handler);
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return new DeviceClient(parseDeviceAddress(`127.0.0.1:${(server.address() as AddressInfo).port}`), 'tok');
  }

  test('sends the bearer token; a stream cut short is "lost"', async () => {
    let auth: string | undefined;
    const client = await serve((request, response) => {
      auth = request.headers.authorization;
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.write('one\n');
      setTimeout(() => response.socket?.destroy(), 20);
    });
    let text = '';
    expect(await client.stream('/v1/containers/web/logs?follow=1', (t) => (text += t))).toBe('lost');
    expect(text).toBe('one\n');
    expect(auth).toBe('Bearer tok');
  });

  test('a port that is not the API (statusPort, a web server): not JSON, says so', async () => {
    const client = await serve((_request, response) => response.end('<html>hello</html>'));
    await expect(client.json('/v1/containers')).rejects.toThrow(/^127\.0\.0\.1:\d+: GET \/v1\/containers answered 200 with something that is not JSON$/);
  });

  test("a 500 carries the device's error text", async () => {
    const client = await serve((_request, response) => {
      response.writeHead(500, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: 'supervisor gone' }));
    });
    await expect(client.json('/v1/containers/web/restart', { method: 'POST' })).rejects.toThrow(
      /: POST \/v1\/containers\/web\/restart failed with HTTP 500: supervisor gone$/,
    );
  });
});
