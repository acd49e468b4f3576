import { Command } from 'commander';
import { routes } from '../../device-api/client.js';
import { DEVICE_HELP, deviceClient, withDeviceOptions, type DeviceOptions } from '../device-target.js';
import { print, type CliIo } from '../io.js';
import type { UpdateStatus } from '../../../device/contract/update/status.ts';
import { describeUpdate } from './update.js';

interface DeviceStatus {
  name?: string;
  hostname?: string;
  kiln?: string;
  buildId?: string;
  arch?: string;
  uptimeSeconds?: number;
  mounts?: unknown[];
  addresses?: unknown;
  time?: { synchronised?: boolean; source?: string; offsetSeconds?: number };
  containers?: { name: string; state: string }[];
  [key: string]: unknown;
}

function uptime(seconds: number): string {
  const s = Math.floor(seconds);
  const [d, h, m] = [Math.floor(s / 86400), Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60)];
  return d > 0 ? `${d}d ${h}h ${m}m` : h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${s % 60}s` : `${s}s`;
}

/** A few lines a person reads; the whole answer with --json. */
export function describeStatus(status: DeviceStatus): string[] {
  const lines: string[] = [];
  const field = (label: string, value: unknown) => value !== undefined && value !== null && lines.push(`${`${label}:`.padEnd(12)}${String(value)}`);
  field('name', status.name);
  field('hostname', status.hostname);
  field(
    'kiln',
    status.kiln === undefined
      ? undefined
      : `${status.kiln}${status.buildId === undefined ? '' : `, build ${status.buildId}`}${status.arch === undefined ? '' : `, ${status.arch}`}`,
  );
  field('uptime', typeof status.uptimeSeconds === 'number' ? uptime(status.uptimeSeconds) : undefined);
  if (status.time !== undefined)
    field('clock', status.time.synchronised ? `synchronised from ${status.time.source} (offset ${status.time.offsetSeconds} s)` : 'not synchronised');
  if (Array.isArray(status.mounts)) field('mounts', status.mounts.map(String).join(', ') || 'none');
  if (status.addresses !== undefined) field('addresses', JSON.stringify(status.addresses));
  if (Array.isArray(status.containers)) field('containers', status.containers.map((c) => `${c.name} (${c.state})`).join(', ') || 'none');
  if (status.update !== undefined) lines.push(...describeUpdate(status.update as UpdateStatus));
  return lines;
}

export function statusCommand(io: CliIo): Command {
  return withDeviceOptions(new Command('status').description("A device's status: version, uptime, clock, mounts, addresses, containers (management API)"))
    .option('--json', "print the API's JSON as it is (also the settings in effect), for scripts")
    .addHelpText(
      'after',
      `
${DEVICE_HELP}

  KILN_TOKEN=... kiln status --device 192.168.1.20:18080
  kiln status --device 127.0.0.1:18080 --json | jq .uptimeSeconds`,
    )
    .action(async (opts: DeviceOptions & { json?: boolean }) => {
      const client = await deviceClient(opts, io);
      const status = await client.json<DeviceStatus>(routes.status());
      if (opts.json) return print(io.stdout, JSON.stringify(status, null, 2));
      for (const line of describeStatus(status)) print(io.stdout, line);
    });
}
