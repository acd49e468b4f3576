/**
 * Boot stage "status": serves the read-only status endpoint on boot.json's `statusPort`, when there is one.
 * The document is made per request from the live system: the kernel's addresses (rtnetlink), /proc/uptime, the clock.
 */
import * as os from 'node:os';
import type { StageContext } from '../base/context.ts';
import { parseUptimeMs } from '../base/uptime.ts';
import { readAddresses } from '../net/addresses.ts';
import { lastTimeSync } from '../time/stage.ts';
import { startStatusServer, type StatusDocument } from './status.ts';

/**
 * Node's view of the interfaces, as "address/length". Not what /status reports: os.networkInterfaces() leaves out
 * every interface that is not both UP and RUNNING, addresses and all (see device/net/addresses.ts).
 */
export function interfaceAddresses(interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, infos] of Object.entries(interfaces)) {
    if (infos === undefined) continue;
    out[name] = infos.map((info) => info.cidr ?? info.address);
  }
  return out;
}

/** The document for one request, made from the live system. */
export function statusDocument(ctx: Pick<StageContext, 'config' | 'fs' | 'net'>): StatusDocument {
  const sync = lastTimeSync();
  return {
    name: ctx.config.name,
    hostname: os.hostname(),
    kiln: ctx.config.kilnVersion,
    buildId: ctx.config.buildId,
    uptimeSeconds: parseUptimeMs(ctx.fs.readText('/proc/uptime')) / 1000,
    time:
      sync === undefined
        ? { now: new Date().toISOString(), synchronised: false }
        : { now: new Date().toISOString(), synchronised: true, source: sync.source, offsetSeconds: sync.offsetMs / 1000, stratum: sync.stratum },
    addresses: readAddresses(ctx.net, ctx.fs),
  };
}

export async function statusStage(ctx: StageContext): Promise<string> {
  const port = ctx.config.statusPort;
  if (port === undefined) return 'off (no statusPort in the config)';
  const server = await startStatusServer(port, { document: () => statusDocument(ctx) });
  ctx.onShutdown(() => void server.close());
  return `GET /status on port ${port} (read-only)`;
}
