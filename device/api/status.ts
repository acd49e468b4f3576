/**
 * A read-only HTTP status endpoint served by the init: `GET /status` answers JSON with the device's name,
 * hostname, uptime, clock state and addresses. No secrets, no changes, no authentication: the management API with
 * tokens is a separate, later piece. Only GET and HEAD are answered.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorMessage } from '../contract/error-message.ts';

export interface StatusDocument {
  name: string;
  hostname: string;
  kiln: string;
  buildId: string;
  uptimeSeconds: number;
  time: {
    now: string;
    synchronised: boolean;
    source?: string;
    offsetSeconds?: number;
    stratum?: number;
  };
  /** Interface name → addresses with prefix length, e.g. { eth0: ["10.0.2.15/24"] }. */
  addresses: Record<string, string[]>;
}

export interface StatusSource {
  document(): StatusDocument;
}

function send(response: http.ServerResponse, status: number, body: unknown, head: boolean, extra: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...extra });
  response.end(head ? undefined : text);
}

export function handleStatusRequest(source: StatusSource, request: http.IncomingMessage, response: http.ServerResponse): void {
  const head = request.method === 'HEAD';
  if (request.method !== 'GET' && !head) {
    send(response, 405, { error: `${request.method} is not allowed: this endpoint is read-only` }, false, { allow: 'GET, HEAD' });
    return;
  }
  const path = (request.url ?? '/').split('?')[0];
  if (path !== '/status') {
    send(response, 404, { error: `no ${path} here; try GET /status` }, head);
    return;
  }
  try {
    send(response, 200, source.document(), head);
  } catch (error) {
    send(response, 500, { error: errorMessage(error) }, head);
  }
}

/** Listens on every address (IPv6 and IPv4) at `port`; resolves once listening, rejects when it cannot. */
export function startStatusServer(port: number, source: StatusSource): Promise<http.Server> {
  const server = http.createServer((request, response) => handleStatusRequest(source, request, response));
  // A slow or idle client must not pin a socket of PID 1 forever.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.keepAliveTimeout = 2_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

export function listeningPort(server: http.Server): number {
  return (server.address() as AddressInfo).port;
}
