/**
 * Boot stage "containers": every configured container, in dependency order, run by crun (crun.ts) under the same
 * supervisor as program services (restart policy, exponential backoff, orderly stop). A container that cannot be
 * prepared (image missing from the store, a digest mismatch, a CPU the device lacks) is reported in the log with
 * its name and field and retried with backoff; the others run regardless. Output goes to a size-capped log per
 * container in `<containerStore>/logs/<name>.log` and, unless `console: false`, to the init's log with a
 * `[name]` prefix.
 */
import { readFileSync } from 'node:fs';
import type { StageContext } from '../base/context.ts';
import { startOrder, withOverride, type ContainerConfig } from '../contract/config/containers-schema.ts';
import type { BootContainer } from '../contract/boot-config.ts';
import { openRotatingFile, type RotatingFile } from '../logs/rotating-file.ts';
import { createSupervisor, type ServiceSpec, type Supervisor } from '../programs/supervisor.ts';
import type { DeviceControl } from '../api/management.ts';
import { prepareBundle } from './bundle.ts';
import { CRUN, CRUN_ROOT, crunExec, runContainer } from './crun.ts';
import { createHealthMonitor, probeFor, type HealthMonitor } from './health.ts';
import { leftoversOf } from './leftovers.ts';
import { createStartGate } from './start-gate.ts';
import { hasBlob, pullImage } from './pull.ts';
import { parseCpuList } from './cpus.ts';
import { errorMessage } from '../contract/error-message.ts';

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

const setTimer = (fn: () => void, ms: number) => {
  const timer = setTimeout(fn, ms);
  return () => clearTimeout(timer);
};

export type ContainersContext = Pick<StageContext, 'config' | 'fs' | 'data' | 'sched' | 'log' | 'settings' | 'now' | 'mounted' | 'onShutdown'>;

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
  if (!ctx.fs.exists(CRUN)) {
    ctx.log.error(`containers: ${CRUN} is missing from this image; no container runs`);
    return { detail: 'crun missing', stop: () => Promise.resolve(), control: NO_CONTAINERS };
  }
  // The build fills its default (device-sections.ts) and parseBootConfig refuses containers without it.
  const store = ctx.config.containerStore!;
  const online = parseCpuList(ctx.fs.readText('/sys/devices/system/cpu/online'));
  const partitions: Record<string, string> = {};
  for (const p of ctx.config.storage?.partitions ?? []) if (p.mount !== undefined && ctx.mounted.includes(p.mount)) partitions[p.label] = p.mount;
  ctx.fs.mkdir(CRUN_ROOT, 0o700);
  ctx.fs.mkdir(`${store}/logs`, 0o755);

  const byName = new Map(containers.map((c) => [c.name, c]));
  // A container's settings as the secondary config has them now: a reload changes its next start and exit.
  const current = (name: string): BootContainer => withOverride(byName.get(name)!, ctx.settings().containers?.[name]);
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
        logs.set(name, openRotatingFile(ctx.data, `${store}/logs/${name}.log`, LOG_LIMITS));
      } catch (error) {
        ctx.log.warn(`container ${name}: no log file: ${errorMessage(error)}`);
        return undefined;
      }
    }
    return logs.get(name);
  };
  ctx.onShutdown(() => {
    for (const file of logs.values()) file.close();
  });

  const { sched } = ctx;
  // Healthchecks, and the containers that wait for a dependency to be healthy (dependsOn) before their first start.
  const monitors = new Map<string, HealthMonitor>();
  let supervisor: Supervisor | undefined;
  for (const c of runnable) {
    if (c.healthcheck === undefined) continue;
    const stopMs = c.stopTimeoutSeconds * 1000;
    monitors.set(
      c.name,
      createHealthMonitor(
        c.name,
        c.healthcheck,
        probeFor(c.healthcheck, (argv, timeoutMs) => crunExec(c.name, argv, timeoutMs)),
        {
          now: ctx.now,
          setTimer,
          log: ctx.log,
          onChange: () => gate.check(),
          onUnhealthy: () => {
            if (current(c.name).restart === 'never') ctx.log.warn(`container ${c.name}: left running (restart: never)`);
            else void supervisor?.failOne(c.name, 'unhealthy', { termGraceMs: stopMs });
          },
        },
      ),
    );
  }
  const gate = createStartGate(runnable, {
    health: (name) => monitors.get(name)?.status().state,
    start: (name) => void supervisor?.startOne(name),
    log: (message) => ctx.log.info(message),
  });

  // An image the store lacks (new firmware on an old disk) is pulled by its pinned digest before the start.
  const pullIfMissing = async (c: BootContainer): Promise<void> => {
    const layout = `${store}/oci`;
    if (await hasBlob(layout, c.digest)) return;
    ctx.log.info(`container ${c.name}: ${c.image} (${c.digest.slice(0, 19)}) is not in the store: pulling it`);
    const started = ctx.now();
    const mirrors = Object.fromEntries(Object.entries(ctx.settings().registries ?? {}).map(([host, r]) => [host, r.mirror]));
    const pulled = await pullImage({ image: c.image, digest: c.digest, layout, mirrors });
    ctx.log.info(
      `container ${c.name}: pulled from ${pulled.origin}: ${pulled.blobs} blob(s), ${(pulled.bytes / 1e6).toFixed(1)} MB in ${((ctx.now() - started) / 1000).toFixed(1)} s`,
    );
  };

  const specs: ServiceSpec[] = runnable.map((c) => ({ name: c.name, command: CRUN, args: [], env: {}, restart: c.restart, backoff: c.backoff }));
  const sup = createSupervisor(specs, {
    noun: 'container',
    spawn: (spec, events) => {
      const c = current(spec.name);
      return runContainer(
        c,
        {
          line: (stream, text) => {
            logFile(c.name)?.write(`${text}\n`);
            remember(c.name, text);
            if (c.console) events.line(stream, text);
          },
          exit: (code, signal, error, options) => {
            logFile(c.name)?.sync();
            monitors.get(c.name)?.stopped();
            // crun delete ran: nothing of the run may remain (its cgroup, its root's mounts).
            for (const leftover of leftoversOf(c.name, { readText: (p) => ctx.fs.readText(p), exists: (p) => ctx.fs.exists(p) }))
              ctx.log.warn(`container ${c.name}: ${leftover} after crun delete`);
            events.exit(code, signal, error, options);
          },
        },
        {
          sched,
          started: () => monitors.get(c.name)?.started(),
          fetch: () => pullIfMissing(c),
          prepare: () => prepareBundle(c, { store, partitions, hostname: ctx.settings().hostname, readFile: (p) => readFileSync(p) }),
          info: (message) => ctx.log.info(message),
          warn: (message) => ctx.log.warn(message),
        },
      );
    },
    log: ctx.log,
    now: ctx.now,
    setTimer,
    policy: (spec) => {
      const c = current(spec.name);
      return { restart: c.restart, backoff: c.backoff };
    },
  });
  supervisor = sup;
  sup.start((name) => !gate.waiting(name));
  // A container with no healthcheck is ready once started: those waiting on it may go now.
  gate.check();
  const stopMs = Math.max(...runnable.map((c) => c.stopTimeoutSeconds * 1000), 1000);
  const statusOf = (name: string) => sup.status().find((s) => s.name === name);
  const view = (c: BootContainer) => {
    const s = statusOf(c.name);
    const health = monitors.get(c.name)?.status();
    const state = gate.waiting(c.name) ? 'waiting for dependencies' : (s?.state ?? 'not started');
    return {
      name: c.name,
      image: c.image,
      digest: c.digest,
      restart: c.restart,
      state,
      pid: s?.pid,
      starts: s?.starts ?? 0,
      lastExit: s?.lastExit,
      ...(health === undefined ? {} : { health }),
    };
  };
  const known = (name: string) => byName.has(name) && statusOf(name) !== undefined;
  const control: ContainerControl = {
    containers: () => containers.map(view),
    inspect: (name) => {
      const c = byName.get(name);
      return c === undefined ? undefined : { ...view(c), settings: current(name) };
    },
    start: (name) => known(name) && (gate.release(name), sup.startOne(name)),
    stop: async (name) => known(name) && (await sup.stopOne(name, { termGraceMs: byName.get(name)!.stopTimeoutSeconds * 1000 })),
    restart: async (name) => known(name) && (await sup.stopOne(name, { termGraceMs: byName.get(name)!.stopTimeoutSeconds * 1000 })) && sup.startOne(name),
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
    stop: () => sup.stop({ termGraceMs: stopMs }),
    supervisor: sup,
  };
}
