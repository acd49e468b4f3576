/**
 * /run/kiln/status.json: the init's state as other processes see it — which image this is, its commands, and each
 * service's state, pid, starts and last exit. The init rewrites it (one small write on tmpfs) whenever a service
 * changes state; `kiln-status` reads and prints it, reading again if it caught a rewrite half-way. Times are on the uptime clock (/proc/uptime), the one
 * clock both processes share.
 */
import { describeExit, formatDuration } from '../contract/programs/backoff.ts';
import type { ServiceStatus } from './supervisor.ts';

export const STATUS_PATH = '/run/kiln/status.json';

export interface StatusServiceEntry extends Omit<ServiceStatus, 'nextStartAt'> {
  /** When state is "waiting": ms after `updatedUptimeMs` when it starts again. */
  nextStartInMs?: number;
}

export interface StatusFile {
  name: string;
  hostname: string;
  kiln: string;
  buildId: string;
  arch: string;
  /** Uptime (ms) when the init wrote this. */
  updatedUptimeMs: number;
  commands: string[];
  services: StatusServiceEntry[];
}

export interface StatusIdentity {
  name: string;
  hostname: string;
  kilnVersion: string;
  buildId: string;
  arch: string;
}

export function statusDocument(
  identity: StatusIdentity,
  commands: readonly string[],
  services: readonly ServiceStatus[],
  now: number,
  uptimeMs: number,
): StatusFile {
  return {
    name: identity.name,
    hostname: identity.hostname,
    kiln: identity.kilnVersion,
    buildId: identity.buildId,
    arch: identity.arch,
    updatedUptimeMs: Math.round(uptimeMs),
    commands: [...commands],
    services: services.map(({ nextStartAt, ...rest }) =>
      nextStartAt === undefined ? rest : { ...rest, nextStartInMs: Math.max(0, Math.round(nextStartAt - now)) },
    ),
  };
}

function pad(cells: string[][]): string[] {
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  return cells.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

/** What `kiln-status` prints; `uptimeMs` is now, to say how soon a waiting service starts again. */
export function formatStatus(doc: StatusFile, uptimeMs: number): string {
  const lines = [`${doc.name} (${doc.hostname}): kiln ${doc.kiln}, build ${doc.buildId}, ${doc.arch}, up ${formatDuration(uptimeMs)}`];
  if (doc.services.length === 0) lines.push('services: none');
  else {
    const rows = [['service', 'state', 'pid', 'starts', 'last exit']];
    for (const s of doc.services) {
      let last = s.lastExit === undefined ? '-' : `${describeExit(s.lastExit)} after ${formatDuration(s.lastExit.ranMs)}`;
      if (s.state === 'waiting' && s.nextStartInMs !== undefined) {
        last += `; starts again in ${formatDuration(Math.max(0, s.nextStartInMs - (uptimeMs - doc.updatedUptimeMs)))}`;
      }
      if (s.state === 'exited') last += ` (restart: ${s.restart})`;
      rows.push([s.name, s.state, s.pid === undefined ? '-' : String(s.pid), String(s.starts), last]);
    }
    lines.push(...pad(rows));
  }
  lines.push(`commands: ${doc.commands.length === 0 ? 'none' : doc.commands.join(', ')}`);
  return `${lines.join('\n')}\n`;
}
