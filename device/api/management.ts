/**
 * The management API: HTTP + JSON, on a unix socket for processes on the device (no token: the socket is root's,
 * mode 0600) and, when the config names `apiPort` and the secondary config provisions a token, on TCP with
 * `Authorization: Bearer <token>`. No token, no TCP listener.
 *   GET  /v1/status                         the device: version, uptime, mounts, addresses, clock, config state
 *   GET  /v1/containers                     every container: state, pid, starts, last exit
 *   GET  /v1/containers/<name>              one container: its status and its effective settings
 *   POST /v1/containers/<name>/start|stop|restart
 *   GET  /v1/containers/<name>/logs[?follow=1&tail=N]   text; with follow, new lines until the client goes
 *   POST /v1/reload | /v1/reboot | /v1/poweroff
 *   GET  /v1/update                         slots, versions, booted, committed, pending, last result (UpdateStatus)
 *   POST /v1/update[?force=1&reboot=0]      body: the UEFI executable; X-Kiln-Statement and X-Kiln-Signature:
 *                                           the signed statement (device/contract/update/statement.ts), base64
 * The routes are bound to the device through `DeviceControl`, so they are tested on the host with a fake one.
 */
import * as http from 'node:http';
import { bearerMatches } from './token.ts';
import { errorMessage } from '../contract/error-message.ts';
import type { UpdateStatus } from '../contract/update/status.ts';
import { UpdateRefused } from '../update/install.ts';
import type { InstallRequest } from '../update/stage.ts';

export interface ContainerView {
  name: string;
  state: string;
  pid?: number;
  starts: number;
  lastExit?: unknown;
  image: string;
  restart: string;
  /** With a healthcheck: starting, healthy or unhealthy, failures in a row, why the last check failed. */
  health?: { state: string; failures: number; checks: number; last?: string };
}

export interface DeviceControl {
  status(): Record<string, unknown>;
  containers(): ContainerView[];
  inspect(name: string): Record<string, unknown> | undefined;
  /** False: no container by that name. */
  start(name: string): boolean;
  stop(name: string): Promise<boolean>;
  restart(name: string): Promise<boolean>;
  /** The last `tail` lines; undefined: no such container. */
  logs(name: string, tail: number): string[] | undefined;
  /** Calls `onLine` for every new line until the returned function is called. */
  follow(name: string, onLine: (line: string) => void): () => void;
  reload(): void;
  reboot(): void;
  poweroff(): void;
  /** Firmware updates (device/update); absent: the routes answer 503. */
  update?: {
    status(): UpdateStatus;
    install(request: InstallRequest): Promise<{ slot: string; statement: { version: string; buildId: string }; rebooting: boolean }>;
  };
}

function send(response: http.ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  response.end(text);
}

const ROUTES =
  'GET /v1/status, GET /v1/containers[/<name>[/logs]], POST /v1/containers/<name>/{start,stop,restart}, POST /v1/{reload,reboot,poweroff}, GET|POST /v1/update';

export async function handleManagement(
  device: DeviceControl,
  request: http.IncomingMessage,
  response: http.ServerResponse,
  token: (() => string) | undefined,
): Promise<void> {
  // token undefined: the unix socket, where file permissions are the access control.
  if (token !== undefined && !bearerMatches(request.headers.authorization, token())) {
    response.setHeader('www-authenticate', 'Bearer realm="kiln"');
    send(response, 401, { error: request.headers.authorization === undefined ? 'a bearer token is required' : 'wrong token' });
    return;
  }
  const url = new URL(request.url ?? '/', 'http://device');
  const parts = url.pathname.split('/').filter(Boolean);
  const method = request.method ?? 'GET';
  const notFound = () => send(response, 404, { error: `no ${method} ${url.pathname}; routes: ${ROUTES}` });
  try {
    if (parts[0] !== 'v1') return notFound();
    if (method === 'GET' && parts.length === 2 && parts[1] === 'status') return send(response, 200, device.status());
    if (method === 'POST' && parts.length === 2 && ['reload', 'reboot', 'poweroff'].includes(parts[1]!)) {
      send(response, 202, { accepted: parts[1] });
      // After the answer is on its way: a reboot must not cut its own reply.
      response.once('finish', () => device[parts[1] as 'reload' | 'reboot' | 'poweroff']());
      return;
    }
    if (parts[1] === 'update' && parts.length === 2) return await updateRoute(device, request, response, url, method);
    if (parts[1] !== 'containers') return notFound();
    if (method === 'GET' && parts.length === 2) return send(response, 200, device.containers());
    const name = parts[2]!;
    const missing = () =>
      send(response, 404, {
        error: `no container named "${name}"; the device runs: ${
          device
            .containers()
            .map((c) => c.name)
            .join(', ') || 'none'
        }`,
      });
    if (method === 'GET' && parts.length === 3) {
      const found = device.inspect(name);
      return found === undefined ? missing() : send(response, 200, found);
    }
    if (method === 'GET' && parts.length === 4 && parts[3] === 'logs') {
      const tail = Number(url.searchParams.get('tail') ?? '200');
      const lines = device.logs(name, Number.isInteger(tail) && tail >= 0 ? tail : 200);
      if (lines === undefined) return missing();
      response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      for (const line of lines) response.write(`${line}\n`);
      if (url.searchParams.get('follow') !== '1') return void response.end();
      const unsubscribe = device.follow(name, (line) => response.write(`${line}\n`));
      response.on('close', unsubscribe);
      return;
    }
    if (method === 'POST' && parts.length === 4 && ['start', 'stop', 'restart'].includes(parts[3]!)) {
      const action = parts[3] as 'start' | 'stop' | 'restart';
      const known = action === 'start' ? device.start(name) : await device[action](name);
      return known ? send(response, 200, device.inspect(name)) : missing();
    }
    return notFound();
  } catch (error) {
    send(response, 500, { error: errorMessage(error) });
  }
}

async function updateRoute(device: DeviceControl, request: http.IncomingMessage, response: http.ServerResponse, url: URL, method: string): Promise<void> {
  if (device.update === undefined) return send(response, 503, { error: 'this firmware has no update support' });
  if (method === 'GET') return send(response, 200, device.update.status());
  if (method !== 'POST') return send(response, 405, { error: `no ${method} /v1/update; GET for the status, POST to install` });
  const header = (name: string): Uint8Array | undefined => {
    const value = request.headers[name];
    return typeof value === 'string' && value !== '' ? new Uint8Array(Buffer.from(value, 'base64')) : undefined;
  };
  const statement = header('x-kiln-statement');
  const signature = header('x-kiln-signature');
  const refuse = (status: number, error: string) => {
    // The rest of the body is read and dropped, so the client sees this answer rather than a reset connection.
    send(response, status, { error });
    request.resume();
  };
  if (statement === undefined || signature === undefined) {
    return refuse(400, 'an update needs X-Kiln-Statement and X-Kiln-Signature headers (kiln update sends them; an unsigned firmware is refused)');
  }
  try {
    const done = await device.update.install({
      statement,
      signature,
      payload: request,
      force: url.searchParams.get('force') === '1',
      reboot: url.searchParams.get('reboot') !== '0',
    });
    send(response, 200, { installed: done.slot, version: done.statement.version, buildId: done.statement.buildId, rebooting: done.rebooting });
  } catch (error) {
    if (error instanceof UpdateRefused) return refuse(error.status, error.message);
    refuse(500, errorMessage(error));
  }
}

/** Listens on a unix socket path (mode 0600) or a TCP port (every address); resolves once listening. */
export function startManagementServer(
  where: { socket: string } | { port: number },
  device: DeviceControl,
  token: (() => string) | undefined,
): Promise<http.Server> {
  const server = http.createServer((request, response) => void handleManagement(device, request, response, token));
  server.headersTimeout = 5_000;
  // No requestTimeout: a followed log stays open as long as the client wants.
  server.requestTimeout = 0;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      resolve(server);
    };
    if ('socket' in where) server.listen(where.socket, done);
    else server.listen(where.port, done);
  });
}
