/**
 * Boot stage "status": serves the read-only status endpoint on boot.json's `statusPort`, when there is one.
 * The document is made per request from the live system: Node's view of the interfaces, /proc/uptime, the clock.
 */
import * as os from 'node:os';
import type { StageContext } from '../init/context.ts';
import { parseUptimeMs } from '../init/uptime.ts';
import { lastTimeSync } from '../time/stage.ts';
import { startStatusServer, type StatusDocument } from './status.ts';

export function interfaceAddresses(interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, infos] of Object.entries(interfaces)) {
    if (infos === undefined) continue;
    out[name] = infos.map((info) => info.cidr ?? info.address);
  }
  return out;
}

export async function statusStage(ctx: StageContext): Promise<string> {
  const port = ctx.config.statusPort;
  if (port === undefined) return 'off (no statusPort in the config)';
  const document = (): StatusDocument => {
    const sync = lastTimeSync();
    return {
      name: ctx.config.name,
      hostname: os.hostname(),
      kiln: ctx.config.kilnVersion,
      buildId: ctx.config.buildId,
      uptimeSeconds: parseUptimeMs(ctx.fs.readText('/proc/uptime')) / 1000,
      time: sync === undefined
        ? { now: new Date().toISOString(), synchronised: false }
        : { now: new Date().toISOString(), synchronised: true, source: sync.source, offsetSeconds: sync.offsetMs / 1000, stratum: sync.stratum },
      addresses: interfaceAddresses(os.networkInterfaces()),
    };
  };
  const server = await startStatusServer(port, { document });
  ctx.onShutdown(() => void server.close());
  return `GET /status on port ${port} (read-only)`;
}
