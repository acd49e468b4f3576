/**
 * Boot stage "logs": sets the log level from the settings, then persists the init and kernel logs to config.logs.path
 * (see persist.ts) until shutdown. Never fails the boot: without a writable folder the log stays on the console and
 * in the kernel log, and the stage says why.
 */
import type { StageContext } from '../base/context.ts';
import { placementOf, notMountedReason } from '../base/mount-table.ts';
import { openKmsgReader, type KmsgReader } from '../sys/kmsg-reader.ts';
import { bootMarker } from '../contract/logs/line-format.ts';
import { INIT_LOG, KERNEL_LOG, persistLogs } from './persist.ts';
import { errorMessage } from '../contract/error-message.ts';

export interface LogsStageDeps {
  openKmsg: () => KmsgReader;
  every: (ms: number, fn: () => void) => () => void;
}

const realDeps: LogsStageDeps = {
  openKmsg: () => openKmsgReader(),
  every: (ms, fn) => {
    const timer = setInterval(fn, ms);
    return () => clearInterval(timer);
  },
};

function size(bytes: number): string {
  return bytes % (1 << 20) === 0 ? `${bytes >> 20} MiB` : bytes % 1024 === 0 ? `${bytes >> 10} KiB` : `${bytes} bytes`;
}

/** What the stage uses of the boot's context. */
export type LogsContext = Pick<StageContext, 'fs' | 'data' | 'log' | 'config' | 'settings' | 'onShutdown'>;

export async function logsStage(ctx: LogsContext, deps: LogsStageDeps = realDeps): Promise<string> {
  const level = ctx.settings().log?.level ?? 'info';
  ctx.log.setLevel(level);
  const logs = ctx.config.logs;
  if (logs === undefined) return `level ${level}; not persisted (no logs.path in the config)`;

  const placement = placementOf(ctx.fs, logs.path);
  if (!placement.persistent) {
    // Writing there would fill RAM and be lost at the next boot anyway.
    ctx.log.warn(`logs: ${logs.path}: ${notMountedReason(logs.path, ctx.config.storage?.partitions ?? [])}; not persisting logs`);
    return `level ${level}; not persisted`;
  }
  let bootId = 'unknown';
  try {
    bootId = ctx.fs.readText('/proc/sys/kernel/random/boot_id').trim();
  } catch {
    // Only the marker loses its id.
  }
  const { config } = ctx;
  let persister;
  try {
    persister = persistLogs(
      { data: ctx.data, log: ctx.log, openKmsg: deps.openKmsg, every: deps.every },
      {
        dir: logs.path,
        maxBytes: logs.maxBytes,
        keep: logs.keep,
        marker: bootMarker({ bootId, name: config.name, buildId: config.buildId, kilnVersion: config.kilnVersion }),
      },
    );
  } catch (error) {
    ctx.log.warn(`logs: cannot write ${logs.path}: ${errorMessage(error)}; not persisting logs (the console log goes on)`);
    return `level ${level}; not persisted`;
  }
  if (!persister.active()) return `level ${level}; not persisted`;
  ctx.onShutdown(() => persister.close());
  return `level ${level}; ${logs.path}/${INIT_LOG} and ${KERNEL_LOG} (rotated at ${size(logs.maxBytes)}, ${logs.keep} kept)`;
}
