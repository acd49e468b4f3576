import type { Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { interfaceAddresses } from './stage.ts';
import { listeningPort, startStatusServer, type StatusDocument } from './status.ts';

const document: StatusDocument = {
  name: 'gateway',
  hostname: 'gw-1',
  kiln: '0.1.0',
  buildId: 'abc',
  uptimeSeconds: 12.5,
  time: { now: '2026-11-25T12:00:00.000Z', synchronised: true, source: '10.0.2.2:123', offsetSeconds: 1.5, stratum: 2 },
  addresses: { lo: ['127.0.0.1/8'], eth0: ['10.0.2.15/24'] },
};

let server: Server | undefined;
afterEach(() => void server?.close());

async function serve(source = { document: () => document }): Promise<string> {
  server = await startStatusServer(0, source);
  return `http://127.0.0.1:${listeningPort(server)}`;
}

describe('status endpoint', () => {
  it('GET /status answers the document as JSON, not cached', async () => {
    const base = await serve();
    const response = await fetch(`${base}/status`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toEqual(document);
    expect((await fetch(`${base}/status?pretty=1`)).status).toBe(200);
  });

  it('HEAD has the headers and no body', async () => {
    const base = await serve();
    const response = await fetch(`${base}/status`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
  });

  it('is read-only: other methods get 405 with Allow', async () => {
    const base = await serve();
    const response = await fetch(`${base}/status`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
    expect(await response.json()).toEqual({ error: 'POST is not allowed: this endpoint is read-only' });
  });

  it('other paths get 404 saying where to look', async () => {
    const base = await serve();
    const response = await fetch(`${base}/api/containers`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: 'no /api/containers here; try GET /status' });
  });

  it('a document that cannot be made is a 500 with the reason, and the server lives on', async () => {
    let fail = true;
    const base = await serve({
      document: () => {
        if (fail) throw new Error('ENOENT: /proc/uptime');
        return document;
      },
    });
    const response = await fetch(`${base}/status`);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: 'ENOENT: /proc/uptime' });
    fail = false;
    expect((await fetch(`${base}/status`)).status).toBe(200);
  });

  it('a port in use is an error, not a crash', async () => {
    const base = await serve();
    const port = Number(new URL(base).port);
    await expect(startStatusServer(port, { document: () => document })).rejects.toThrow(/EADDRINUSE/);
  });
});

describe('interfaceAddresses', () => {
  it("lists each interface's addresses with their prefix length", () => {
    expect(
      interfaceAddresses({
        lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' }],
        eth0: [
          { address: '10.0.2.15', netmask: '255.255.255.0', family: 'IPv4', mac: '52:54:00:12:34:56', internal: false, cidr: '10.0.2.15/24' },
          { address: 'fe80::1', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '52:54:00:12:34:56', internal: false, cidr: 'fe80::1/64', scopeid: 2 },
        ],
      }),
    ).toEqual({ lo: ['127.0.0.1/8'], eth0: ['10.0.2.15/24', 'fe80::1/64'] });
  });
});
