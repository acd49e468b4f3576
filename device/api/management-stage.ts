/**
 * Boot stage "api": the management API (management.ts) on /run/kiln/api.sock, and on TCP `apiPort` when the
 * secondary config provisions a token. Reload, reboot and power-off are the same signals an operator would send
 * to PID 1 (SIGHUP, SIGTERM, SIGUSR2), so they take exactly the paths those take.
 */
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { StageContext } from '../base/context.ts';
import type { ContainerControl } from '../containers/stage.ts';
import { statusDocument } from './stage.ts';
import { startManagementServer, type DeviceControl } from './management.ts';
import type { UpdateHandle } from '../update/stage.ts';

export const API_SOCKET = '/run/kiln/api.sock';

export type ApiContext = Pick<StageContext, 'config' | 'fs' | 'net' | 'log' | 'settings' | 'mounted' | 'onShutdown'>;

/** The init's resident memory and the whole system's used memory (MemTotal - MemAvailable), in bytes. */
export function memoryFigures(meminfo: string): { initRssBytes: number; systemUsedBytes: number; systemTotalBytes: number } {
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(meminfo)?.[1] ?? NaN) * 1024;
  return { initRssBytes: process.memoryUsage().rss, systemUsedBytes: kib('MemTotal') - kib('MemAvailable'), systemTotalBytes: kib('MemTotal') };
}

export async function apiStage(ctx: ApiContext, containers: ContainerControl, socket = API_SOCKET, update?: UpdateHandle): Promise<string> {
  const device: DeviceControl = {
    ...containers,
    ...(update === undefined ? {} : { update }),
    // The read-only status document (stage.ts), plus what only an authenticated caller sees.
    status: () => {
      const { api, ...visible } = ctx.settings();
      return {
        ...statusDocument(ctx),
        arch: ctx.config.arch,
        mounts: [...ctx.mounted],
        memory: memoryFigures(ctx.fs.readText('/proc/meminfo')),
        // The settings in effect (primary ⊕ secondary), without the token.
        config: { secondary: ctx.config.secondary?.path ?? null, apiToken: api !== undefined, settings: visible },
        containers: containers.containers().map((c) => ({ name: c.name, state: c.state })),
        ...(update === undefined ? {} : { update: update.status() }),
      };
    },
    reload: () => process.kill(process.pid, 'SIGHUP'),
    reboot: () => process.kill(process.pid, 'SIGTERM'),
    poweroff: () => process.kill(process.pid, 'SIGUSR2'),
  };
  mkdirSync(path.dirname(socket), { recursive: true, mode: 0o755 });
  rmSync(socket, { force: true });
  const local = await startManagementServer({ socket }, device, undefined);
  chmodSync(socket, 0o600);
  ctx.onShutdown(() => void local.close());
  const port = ctx.config.apiPort;
  if (port === undefined) return `${socket}; no TCP (no apiPort in the config)`;
  if (ctx.settings().api?.token === undefined) return `${socket}; no TCP listener on ${port}: the secondary config provisions no api.token`;
  // The token as the settings have it now: a reload that changes it takes effect at the next request.
  const tcp = await startManagementServer({ port }, device, () => ctx.settings().api?.token ?? '');
  ctx.onShutdown(() => void tcp.close());
  return `${socket} and TCP port ${port} (bearer token)`;
}
