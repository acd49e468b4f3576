/**
 * Host side of the device's management API (device/api/management.ts): HTTP + JSON over TCP with
 * `Authorization: Bearer <token>`. No TLS — the API is for a trusted network or a tunnel. Every failure becomes
 * one `KilnError` line naming the device, so the commands over this stay thin.
 */
import * as http from 'node:http';
import { KilnError } from '../util/errors.js';

/** Where the API listens. The device has no default port: its config's `apiPort` names it. */
export interface DeviceAddress {
  host: string;
  port: number;
  /** As the user wrote it, for messages: `10.0.0.5:18080`, `[::1]:18080`. */
  label: string;
}

/** One container as `GET /v1/containers` lists it. */
export interface ContainerView {
  name: string;
  state: string;
  pid?: number;
  starts: number;
  lastExit?: { code?: number | null; signal?: string | null; ranMs?: number; description?: string };
  image: string;
  restart: string;
  health?: { state: string; failures: number; checks: number; last?: string };
  [key: string]: unknown;
}

export type StreamEnd = 'ended' | 'lost' | 'aborted';

export const DEFAULT_TIMEOUT_MS = 10_000;

const ADDRESS_HINT = "Write it as HOST:PORT or [IPV6]:PORT, e.g. 192.168.1.20:18080 or [::1]:18080; the port is the device config's apiPort.";

/** `HOST:PORT` or `[IPV6]:PORT`. A port is required: the device has none by default. */
export function parseDeviceAddress(text: string): DeviceAddress {
  const bracketed = /^\[([0-9a-fA-F:.%\w-]+)\](?::(.*))?$/.exec(text);
  let host: string;
  let port: string | undefined;
  if (bracketed) {
    [, host, port] = bracketed as unknown as [string, string, string | undefined];
  } else {
    const colons = text.split(':').length - 1;
    if (colons > 1) throw new KilnError('DEVICE_BAD_ADDRESS', `--device ${text}: an IPv6 address needs brackets`, { hint: ADDRESS_HINT });
    [host, port] = colons === 1 ? (text.split(':') as [string, string]) : [text, undefined];
  }
  if (host === '') throw new KilnError('DEVICE_BAD_ADDRESS', `--device ${text}: no host`, { hint: ADDRESS_HINT });
  if (port === undefined || port === '') {
    throw new KilnError('DEVICE_BAD_ADDRESS', `--device ${text}: no port: the management API has no default port, the device config's apiPort names it`, {
      hint: ADDRESS_HINT,
    });
  }
  const n = Number(port);
  if (!/^\d{1,5}$/.test(port) || n < 1 || n > 65535)
    throw new KilnError('DEVICE_BAD_ADDRESS', `--device ${text}: port "${port}" is not 1-65535`, { hint: ADDRESS_HINT });
  return { host, port: n, label: text };
}

export const TOKEN_HINT = 'wrong or missing token: set KILN_TOKEN or --token-file';

/** Checked before any request. The token is the secondary config's `api.token`. */
export function resolveToken(token: string | undefined, source: string): string {
  if (token === undefined || token.trim() === '') {
    throw new KilnError('DEVICE_NO_TOKEN', `no token for the device's management API${source === '' ? '' : `: ${source}`}`, {
      hint: "Set KILN_TOKEN or pass --token-file PATH (a file holding the secondary config's api.token).",
    });
  }
  return token.trim();
}

export interface RequestOptions {
  method?: 'GET' | 'POST';
  /** Milliseconds without a byte before giving up. */
  timeoutMs?: number;
  /** A request body (POST), streamed, with its length and extra headers. */
  body?: { stream: NodeJS.ReadableStream; length: number; headers: Record<string, string> };
}

export class DeviceClient {
  readonly address: DeviceAddress;
  readonly #token: string;
  readonly #timeoutMs: number;

  constructor(address: DeviceAddress, token: string, options: { timeoutMs?: number } = {}) {
    this.address = address;
    this.#token = token;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** A JSON route: the parsed body of a 2xx answer; any other status throws its one-line error. */
  async json<T>(path: string, options: RequestOptions = {}): Promise<T> {
    const { status, text } = await this.#exchange(path, options);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new KilnError('DEVICE_BAD_ANSWER', `${this.address.label}: ${options.method ?? 'GET'} ${path} answered ${status} with something that is not JSON`, {
        hint: 'Is that port the management API (apiPort), not the statusPort or another service?',
      });
    }
  }

  /** A text route, streamed: `onText` sees each chunk as it comes. Resolves when the device ends the answer
   * (`'ended'`), when the connection drops before that (`'lost'`) or when `signal` aborts (`'aborted'`). The idle timeout covers only the wait for the headers. */
  async stream(path: string, onText: (text: string) => void, signal?: AbortSignal): Promise<StreamEnd> {
    const { response } = await this.#exchange(path, { stream: true });
    return new Promise((resolve) => {
      const finish = (how: StreamEnd) => {
        signal?.removeEventListener('abort', abort);
        resolve(how);
      };
      const abort = () => {
        response.destroy();
        finish('aborted');
      };
      if (signal?.aborted) return abort();
      signal?.addEventListener('abort', abort, { once: true });
      response.setEncoding('utf8');
      response.on('data', onText);
      response.on('end', () => finish('ended'));
      // Cut before its end ('aborted' / ECONNRESET): the device went away (a reboot, a cable) or a proxy cut it.
      response.on('error', () => finish(signal?.aborted ? 'aborted' : 'lost'));
      response.on('close', () => finish(response.complete ? 'ended' : 'lost'));
    });
  }

  /** Sends the request and waits for a 2xx status (other statuses throw). Without `stream` the whole body is
   * read too, under the same idle timeout. */
  #exchange(path: string, options: RequestOptions & { stream?: boolean }): Promise<{ status: number; text: string; response: http.IncomingMessage }> {
    const method = options.method ?? 'GET';
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    return new Promise((resolve, reject) => {
      const request = http.request({
        host: this.address.host,
        port: this.address.port,
        method,
        path,
        headers: {
          authorization: `Bearer ${this.#token}`,
          accept: 'application/json, text/plain',
          ...(options.body === undefined
            ? {}
            : { ...options.body.headers, 'content-type': 'application/octet-stream', 'content-length': String(options.body.length) }),
        },
        // One connection per command: nothing keeps the process alive afterwards.
        agent: false,
      });
      let timedOut = false;
      const fail = (error: Error) =>
        reject(
          timedOut
            ? new KilnError('DEVICE_TIMEOUT', `${this.address.label}: no answer to ${method} ${path} within ${timeoutMs / 1000} s`, {
                hint: 'Is the device up and reachable, and is that its apiPort? --timeout waits longer.',
              })
            : this.#networkError(error, method, path),
        );
      request.setTimeout(timeoutMs, () => {
        timedOut = true;
        request.destroy();
      });
      request.on('error', fail);
      request.on('response', (response) => {
        const status = response.statusCode ?? 0;
        const ok = status >= 200 && status < 300;
        if (ok && options.stream) {
          request.setTimeout(0);
          resolve({ status, text: '', response });
          return;
        }
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('error', fail);
        response.on('end', () => (ok ? resolve({ status, text, response }) : reject(this.#statusError(status, text, method, path))));
      });
      if (options.body === undefined) request.end();
      else {
        // An early answer (a refusal) ends the exchange: the rest of the body is not needed.
        options.body.stream.on('error', fail);
        options.body.stream.pipe(request);
      }
    });
  }

  #statusError(status: number, text: string, method: string, path: string): KilnError {
    let said = text.trim();
    try {
      const parsed = JSON.parse(text) as { error?: unknown };
      if (typeof parsed.error === 'string') said = parsed.error;
    } catch {
      // Not the API's JSON: keep the text as it is.
    }
    const where = this.address.label;
    if (status === 401) return new KilnError('DEVICE_UNAUTHORIZED', `${where}: ${TOKEN_HINT} (the device said: ${said})`);
    if (status === 404) return new KilnError('DEVICE_NOT_FOUND', `${where}: ${said || `no ${method} ${path}`}`);
    return new KilnError('DEVICE_HTTP_ERROR', `${where}: ${method} ${path} failed with HTTP ${status}${said === '' ? '' : `: ${said}`}`);
  }

  #networkError(error: Error & { code?: string }, method: string, path: string): KilnError {
    const where = this.address.label;
    switch (error.code) {
      case 'ECONNREFUSED':
        return new KilnError('DEVICE_UNREACHABLE', `${where}: connection refused: nothing listens on port ${this.address.port}`, {
          hint: "Is the device up, is that the config's apiPort, and does its secondary config provision api.token (no token, no TCP listener)?",
        });
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return new KilnError('DEVICE_UNREACHABLE', `${where}: cannot resolve host "${this.address.host}"`);
      case 'EHOSTUNREACH':
      case 'ENETUNREACH':
        return new KilnError('DEVICE_UNREACHABLE', `${where}: no route to the host (${error.code})`);
      case 'ECONNRESET':
      case 'EPIPE':
        return new KilnError('DEVICE_CONNECTION_LOST', `${where}: the connection was closed during ${method} ${path} (${error.code})`);
      default:
        return new KilnError('DEVICE_UNREACHABLE', `${where}: ${method} ${path} failed: ${error.message}`);
    }
  }
}

/** The routes, typed; names are URL-encoded so a name never changes the route. */
export const routes = {
  status: () => '/v1/status',
  containers: () => '/v1/containers',
  action: (name: string, action: ContainerAction) => `/v1/containers/${encodeURIComponent(name)}/${action}`,
  logs: (name: string, options: { tail?: number; follow?: boolean }) => {
    const query = new URLSearchParams();
    if (options.tail !== undefined) query.set('tail', String(options.tail));
    if (options.follow) query.set('follow', '1');
    const q = query.toString();
    return `/v1/containers/${encodeURIComponent(name)}/logs${q === '' ? '' : `?${q}`}`;
  },
  power: (action: PowerAction) => `/v1/${action}`,
  update: (options: { force?: boolean; reboot?: boolean } = {}) => {
    const query = new URLSearchParams();
    if (options.force) query.set('force', '1');
    if (options.reboot === false) query.set('reboot', '0');
    const q = query.toString();
    return `/v1/update${q === '' ? '' : `?${q}`}`;
  },
};

export type ContainerAction = 'start' | 'stop' | 'restart';
export type PowerAction = 'reload' | 'reboot' | 'poweroff';
