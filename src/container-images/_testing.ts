/**
 * Fixtures for the images tests (not shipped): host tools as independent judges (umoci, skopeo, Debian's
 * docker-registry, busybox-static), a registry on 127.0.0.1 with a temporary storage folder, and a small
 * HTTP proxy in front of it that can demand bearer tokens or flip a byte of one path's response.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';

export const TOOLS: Record<string, string> = { umoci: 'umoci', skopeo: 'skopeo', 'docker-registry': 'docker-registry', busybox: 'busybox-static' };
export const BUSYBOX = '/bin/busybox';

/** Fails (never skips) when a judge is missing (by default: every one above), naming the Debian package to install. */
export function requireTools(tools: readonly string[] = Object.keys(TOOLS)): void {
  const missing = Object.entries(TOOLS).filter(([tool]) => tools.includes(tool) && spawnSync(tool, ['--help'], { stdio: 'ignore' }).error !== undefined);
  if (missing.length) {
    const packages = [...new Set(missing.map(([, pkg]) => pkg))].join(' ');
    throw new Error(`missing ${missing.map(([t]) => t).join(', ')}: install them with apt-get install -y ${packages}`);
  }
}

/** Runs a judge; its output, or an Error with its stderr. */
export function tool(cmd: string, args: string[], cwd?: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw new Error(`${cmd} not found: install the ${TOOLS[cmd] ?? cmd} package`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

export const sha256Of = (data: Uint8Array | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface Registry {
  port: number;
  /** "127.0.0.1:<port>" */
  host: string;
  storage: string;
  stop(): Promise<void>;
}

/** Debian's distribution registry on a free loopback port, storing under `dir`. */
export async function startRegistry(dir: string): Promise<Registry> {
  const port = await freePort();
  const storage = path.join(dir, 'storage');
  mkdirSync(storage, { recursive: true });
  const config = path.join(dir, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${storage}`,
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited (${child.exitCode}):\n${stderr}`);
    const ok = await fetch(`http://127.0.0.1:${port}/v2/`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill();
      throw new Error(`docker-registry did not answer on 127.0.0.1:${port} within 10 s:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    host: `127.0.0.1:${port}`,
    storage,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface ProxyOptions {
  /** Demand `Authorization: Bearer <token>` on /v2/*, handing tokens out at /token. */
  bearer?: { token: string; service: string; refuse?: boolean };
  /** Flip one byte in the middle of responses whose path ends with this. */
  flipPathSuffix?: string;
}

export interface Proxy {
  host: string;
  /** Every request "METHOD path", in order. */
  requests: string[];
  tokenRequests: URLSearchParams[];
  stop(): Promise<void>;
}

/** A proxy to `target` (host:port) on a free loopback port. */
export async function startProxy(target: string, options: ProxyOptions = {}): Promise<Proxy> {
  const requests: string[] = [];
  const tokenRequests: URLSearchParams[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    requests.push(`${req.method} ${url.pathname}${req.headers.authorization ? ' (auth)' : ''}`);
    const bearer = options.bearer;
    if (bearer && url.pathname === '/token') {
      tokenRequests.push(url.searchParams);
      if (bearer.refuse) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: bearer.token, expires_in: 300 }));
      return;
    }
    if (bearer && req.headers.authorization !== `Bearer ${bearer.token}`) {
      const repo = /^\/v2\/(.+)\/(manifests|blobs)\//.exec(url.pathname)?.[1] ?? '';
      res.writeHead(401, {
        'www-authenticate': `Bearer realm="http://${host}/token",service="${bearer.service}",scope="repository:${repo}:pull"`,
        'content-type': 'application/json',
      });
      res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
      return;
    }
    const upstream = http.request(
      { host: target.split(':')[0], port: Number(target.split(':')[1]), method: req.method, path: req.url, headers: { ...req.headers, host: target } },
      (up) => {
        const flip = options.flipPathSuffix !== undefined && url.pathname.endsWith(options.flipPathSuffix) && up.statusCode === 200;
        if (!flip) {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        up.on('data', (c: Buffer) => chunks.push(c));
        up.on('end', () => {
          const body = Buffer.concat(chunks);
          if (body.length) body[body.length >> 1] ^= 0x01;
          res.writeHead(up.statusCode ?? 502, up.headers);
          res.end(body);
        });
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return {
    host,
    requests,
    tokenRequests,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Adds a JSON blob to an OCI layout; returns its descriptor fields. */
export function addJsonBlob(layout: string, value: unknown): { digest: string; size: number } {
  const bytes = Buffer.from(JSON.stringify(value));
  const digest = sha256Of(bytes);
  writeFileSync(path.join(layout, 'blobs', 'sha256', digest.slice(7)), bytes);
  return { digest, size: bytes.length };
}

/** Adds an entry to a layout's index.json. */
export function addIndexEntry(layout: string, entry: Record<string, unknown>): void {
  const file = path.join(layout, 'index.json');
  const index = JSON.parse(readFileSync(file, 'utf8')) as { manifests: unknown[] };
  index.manifests.push(entry);
  writeFileSync(file, JSON.stringify(index));
}
