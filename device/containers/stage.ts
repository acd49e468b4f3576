/**
 * Boot stage "containers": every configured container, in dependency order, run by crun (crun.ts) under the same
 * supervisor as program services (restart policy, exponential backoff, orderly stop). A container that cannot be
 * prepared (image missing from the store, a digest mismatch, a CPU the device lacks) is reported in the log with
 * its name and field and retried with backoff; the others run regardless. Output goes to a size-capped log per
 * container in `<containerStore>/logs/<name>.log` and, unless `console: false`, to the init's log with a
 * `[name]` prefix.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { StageContext } from '../init/context.ts';
import { startOrder, withOverride, type ContainerConfig } from '../config/containers-schema.ts';
import type { BootContainer } from '../init/boot-config.ts';
import { openRotatingFile, type RotatingFile } from '../logs/rotating-file.ts';
import { createSupervisor, type ServiceSpec, type Supervisor } from '../programs/supervisor.ts';
import type { DeviceControl } from '../api/management.ts';
import { nodeDataFs } from '../sys/data-fs.ts';
import { openSched } from '../sys/sched.ts';
import { prepareBundle } from './bundle.ts';
import { CRUN, CRUN_ROOT, runContainer } from './crun.ts';
import { parseCpuList } from './cpus.ts';

export type ContainerControl = Pick<DeviceControl, 'containers' | 'inspect' | 'start' | 'stop' | 'restart' | 'logs' | 'follow'>;

export interface ContainersHandle {
  detail: string;
  stop(): Promise<void>;
  supervisor?: Supervisor;
  control: ContainerControl;
}

/** Recent output per container for the API's logs (the files hold more), and who follows it. */
const RECENT_LINES = 1000;

export const NO_CONTAINERS: ContainerControl = {
  containers: () => [],
  inspect: () => undefined,
  start: () => false,
  stop: () => Promise.resolve(false),
  restart: () => Promise.resolve(false),
  logs: () => undefined,
  follow: () => () => {},
};

const LOG_LIMITS = { maxBytes: 1 << 20, keep: 1 };

export type ContainersContext = Pick<StageContext, 'config' | 'fs' | 'log' | 'settings' | 'now' | 'mounted' | 'onShutdown'>;

/** Fields naming CPUs the device does not have, as "realtime.cpus" / "resources.cpus" messages. */
export function cpuIssues(c: ContainerConfig, online: readonly number[]): string[] {
  const issues: string[] = [];
  const check = (field: string, cpus: readonly number[] | undefined) => {
    const missing = (cpus ?? []).filter((cpu) => !online.includes(cpu));
    if (missing.length > 0) issues.push(`${field}: CPU ${missing.join(', ')} does not exist on this device (it has ${online.join(', ')})`);
  };
  check('realtime.cpus', c.realtime?.cpus);
  check('resources.cpus', c.resources.cpus);
  return issues;
}

export function containersStage(ctx: ContainersContext): ContainersHandle {
  const containers = ctx.config.containers ?? [];
  if (containers.length === 0) return { detail: 'none', stop: () => Promise.resolve(), control: NO_CONTAINERS };
  if (!existsSync(CRUN)) {
    ctx.log.error(`containers: ${CRUN} is missing from this image; no container runs`);
    return { detail: 'crun missing', stop: () => Promise.resolve(), control: NO_CONTAINERS };
  }
  const store = ctx.config.containerStore ?? '/data/kiln/containers';
  const online = parseCpuList(ctx.fs.readText('/sys/devices/system/cpu/online'));
  const partitions: Record<string, string> = {};
  for (const p of ctx.config.storage?.partitions ?? []) if (p.mount !== undefined && ctx.mounted.includes(p.mount)) partitions[p.label] = p.mount;
  ctx.fs.mkdir(CRUN_ROOT, 0o700);
  ctx.fs.mkdir(`${store}/logs`, 0o755);

  const byName = new Map(containers.map((c) => [c.name, c]));
  const runnable: BootContainer[] = [];
  for (const name of startOrder(containers) ?? containers.map((c) => c.name)) {
    const c = byName.get(name)!;
    const issues = cpuIssues(c, online);
    if (issues.length > 0) {
      for (const issue of issues) ctx.log.error(`container ${c.name}: ${issue}; not started`);
      continue;
    }
    runnable.push(c);
  }

  const recent = new Map<string, string[]>(containers.map((c) => [c.name, []]));
  const followers = new Map<string, Set<(line: string) => void>>(containers.map((c) => [c.name, new Set()]));
  const remember = (name: string, line: string) => {
    const lines = recent.get(name)!;
    lines.push(line);
    if (lines.length > RECENT_LINES) lines.splice(0, lines.length - RECENT_LINES);
    for (const follower of followers.get(name)!) follower(line);
  };
  const logs = new Map<string, RotatingFile>();
  const logFile = (name: string): RotatingFile | undefined => {
    if (!logs.has(name)) {
      try {
        logs.set(name, openRotatingFile(nodeDataFs, `${store}/logs/${name}.log`, LOG_LIMITS));
      } catch (error) {
        ctx.log.warn(`container ${name}: no log file: ${error instanceof Error ? error.message : String(error)}`);
        return undefined;
      }
    }
    return logs.get(name);
  };
  ctx.onShutdown(() => {
    for (const file of logs.values()) file.close();
  });

  const sched = openSched();
  const specs: ServiceSpec[] = runnable.map((c) => ({ name: c.name, command: CRUN, args: [], env: {}, restart: c.restart, backoff: c.backoff }));
  const supervisor = createSupervisor(specs, {
    noun: 'container',
    spawn: (spec, events) => {
      // The secondary config's override, as it is now: a reload changes the next start.
      const c = withOverride(byName.get(spec.name)!, ctx.settings().containers?.[spec.name]);
      return runContainer(
        c,
        {
          line: (stream, text) => {
            logFile(c.name)?.write(`${text}\n`);
            remember(c.name, text);
            if (c.console) events.line(stream, text);
          },
          exit: (code, signal, error) => {
            logFile(c.name)?.sync();
            events.exit(code, signal, error);
          },
        },
        {
          sched,
          prepare: () => prepareBundle(c, { store, partitions, hostname: ctx.settings().hostname, readFile: (p) => readFileSync(p) }),
          info: (message) => ctx.log.info(message),
          warn: (message) => ctx.log.warn(message),
        },
      );
    },
    log: ctx.log,
    now: ctx.now,
    setTimer: (fn, ms) => {
      const timer = setTimeout(fn, ms);
      return () => clearTimeout(timer);
    },
  });
  supervisor.start();
  const stopMs = Math.max(...runnable.map((c) => c.stopTimeoutSeconds * 1000), 1000);
  const statusOf = (name: string) => supervisor.status().find((s) => s.name === name);
  const view = (c: BootContainer) => {
    const s = statusOf(c.name);
    return { name: c.name, image: c.image, digest: c.digest, restart: c.restart, state: s?.state ?? 'not started', pid: s?.pid, starts: s?.starts ?? 0, lastExit: s?.lastExit };
  };
  const known = (name: string) => byName.has(name) && statusOf(name) !== undefined;
  const control: ContainerControl = {
    containers: () => containers.map(view),
    inspect: (name) => {
      const c = byName.get(name);
      return c === undefined ? undefined : { ...view(c), settings: withOverride(c, ctx.settings().containers?.[name]) };
    },
    start: (name) => known(name) && supervisor.startOne(name),
    stop: async (name) => known(name) && (await supervisor.stopOne(name, { termGraceMs: byName.get(name)!.stopTimeoutSeconds * 1000 })),
    restart: async (name) => known(name) && (await supervisor.stopOne(name, { termGraceMs: byName.get(name)!.stopTimeoutSeconds * 1000 })) && supervisor.startOne(name),
    logs: (name, tail) => {
      const lines = recent.get(name);
      return lines === undefined ? undefined : tail === 0 ? [] : lines.slice(-tail);
    },
    follow: (name, onLine) => {
      followers.get(name)?.add(onLine);
      return () => void followers.get(name)?.delete(onLine);
    },
  };
  return {
    control,
    detail: `${runnable.length} of ${containers.length} started: ${runnable.map((c) => c.name).join(', ') || 'none'}`,
    stop: () => supervisor.stop({ termGraceMs: stopMs }),
    supervisor,
  };
}
