/**
 * Boot stage "time": one bounded SNTP attempt with the configured servers, then the `TimeSync` service carries on
 * in the background (periodic resync, retries with backoff, and a retry as soon as a DHCP lease arrives while the
 * clock is still unsynchronised).
 */
import { performance } from 'node:perf_hooks';
import type { StageContext } from '../base/context.ts';
import { onLease, setTimer } from '../net/stage.ts';
import { sntpExchange } from './exchange.ts';
import { parseServer, type TimeServer } from './servers.ts';
import { describeSuccess, TimeSync, type SyncSuccess } from './sync.ts';
import { errorMessage } from '../contract/error-message.ts';

/** The boot waits at most this long for the first answer. */
export const BOOT_ATTEMPT_MS = 5_000;

let service: TimeSync | undefined;

/** The clock's state for the status endpoint: the last good answer, or undefined (not synchronised). */
export function lastTimeSync(): SyncSuccess | undefined {
  return service?.last;
}

export function timeServersOf(texts: readonly string[], warn: (message: string) => void): TimeServer[] {
  const servers: TimeServer[] = [];
  for (const text of texts) {
    try {
      servers.push(parseServer(text));
    } catch (error) {
      warn(`time: ${errorMessage(error)}: skipped`);
    }
  }
  return servers;
}

export async function timeStage(ctx: StageContext): Promise<string> {
  const servers = timeServersOf(ctx.settings().time?.servers ?? [], (message) => ctx.log.warn(message));
  if (servers.length === 0) return 'no servers configured';
  const sync = new TimeSync({
    servers,
    exchange: sntpExchange(() => performance.now()),
    wallNow: () => Date.now(),
    monoNow: () => performance.now(),
    stepClock: (offsetMs) => ctx.clock.stepRealtime(offsetMs),
    setTimer,
    random: Math.random,
    log: ctx.log,
  });
  service = sync;
  onLease(() => sync.nudge());
  ctx.onShutdown(() => sync.stop());
  const result = await sync.start(BOOT_ATTEMPT_MS);
  if (result.ok) return describeSuccess(result);
  return `not synchronised (${result.failures.join('; ')}), retrying in ${Math.round(sync.nextDelay(result) / 1000)} s`;
}
