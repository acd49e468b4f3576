/**
 * Services: programs the init starts at boot, in config order, and starts again when they exit, per their restart
 * policy and backoff (backoff.ts) — gokrazy's model. Their output goes to the log line by line with a `[name]`
 * prefix; every start, exit and planned restart is logged. At shutdown `stop` ends them before the init's global
 * kill: SIGTERM, a grace period, then SIGKILL.
 *
 * Processes, timers and the clock come in through `SupervisorDeps`, so the schedule is tested with a fake clock.
 */
import {
  describeExit,
  formatDuration,
  INITIAL_BACKOFF_STATE,
  isFailure,
  nextDelay,
  shouldRestart,
  type Backoff,
  type BackoffState,
  type RestartPolicy,
  type ServiceExit,
} from '../contract/programs/backoff.ts';
import type { ServiceSpec } from '../contract/programs/boot-programs.ts';
import { errorMessage } from '../contract/error-message.ts';

/** A service as the supervisor runs it: defined with the boot contract's programs (boot-programs.ts). */
export type { ServiceSpec };

export interface ServiceEvents {
  line(stream: 'stdout' | 'stderr', text: string): void;
  /**
   * Exactly once per spawn: the process ended, or could not start (code and signal null, `error` set).
   * `retry`: it could not start for a reason that passes (its image could not be pulled yet): started again with
   * backoff whatever the restart policy, which is about the runs of its own code.
   */
  exit(code: number | null, signal: string | null, error?: string, options?: { retry?: boolean }): void;
}

export interface ServiceProcess {
  pid: number | undefined;
  kill(signal: 'SIGTERM' | 'SIGKILL'): void;
}

export interface SupervisorLog {
  info(message: string): void;
  warn(message: string): void;
}

export interface SupervisorDeps {
  spawn(spec: ServiceSpec, events: ServiceEvents): ServiceProcess;
  log: SupervisorLog;
  /** Monotonic milliseconds. */
  now(): number;
  /** Runs `fn` after `ms`; returns a function that cancels it. */
  setTimer(fn: () => void, ms: number): () => void;
  /** Told after every change of state (the status file is written from it). */
  onChange?(): void;
  /** What the log calls one of them. @default 'service' */
  noun?: string;
  /** The restart policy and backoff in effect now (a reloaded secondary config may change them). @default the spec's */
  policy?(spec: ServiceSpec): Pick<ServiceSpec, 'restart' | 'backoff'>;
}

export type ServiceState = 'running' | 'waiting' | 'exited' | 'stopped';

export interface ServiceStatus {
  name: string;
  state: ServiceState;
  pid?: number;
  restart: RestartPolicy;
  /** Starts so far, the first included. */
  starts: number;
  lastExit?: ServiceExit & { description: string };
  /** When state is "waiting": the planned start, in `now()` milliseconds. */
  nextStartAt?: number;
}

export const TERM_GRACE_MS = 2000;
export const KILL_GRACE_MS = 1000;

interface Service {
  spec: ServiceSpec;
  status: ServiceStatus;
  backoff: BackoffState;
  process?: ServiceProcess;
  startedAt: number;
  cancelTimer?: () => void;
  /** Stopped on request (the API): its exit is not followed by a restart. */
  held?: boolean;
  /** Resolves when the running process has exited. */
  exited?: Promise<void>;
  /** Ended by failOne: why. Its exit counts as a failure whatever its code (unless restart: never). */
  failedBecause?: string;
}

export interface Supervisor {
  /** Starts every service in order, or those `only` accepts (the others wait for startOne). */
  start(only?: (name: string) => boolean): void;
  /** Ends every service: no more restarts, SIGTERM, then SIGKILL after `termGraceMs`. Resolves when all exited or gave up. */
  stop(options?: { termGraceMs?: number; killGraceMs?: number }): Promise<void>;
  status(): ServiceStatus[];
  /** Starts one that is not running now (a stopped, exited or waiting one starts at once, backoff reset). False: no such name. */
  startOne(name: string): boolean;
  /** Stops one and keeps it stopped until startOne: SIGTERM, the grace, SIGKILL. False: no such name. */
  stopOne(name: string, options?: { termGraceMs?: number; killGraceMs?: number }): Promise<boolean>;
  /**
   * Ends a running one as failed (an unhealthy container): SIGTERM, the grace, SIGKILL; its exit then counts as a
   * failure for its restart policy and backoff, whatever its exit code. False: not running.
   */
  failOne(name: string, reason: string, options?: { termGraceMs?: number; killGraceMs?: number }): Promise<boolean>;
}

export function createSupervisor(specs: readonly ServiceSpec[], deps: SupervisorDeps): Supervisor {
  const services: Service[] = specs.map((spec) => ({
    spec,
    status: { name: spec.name, state: 'waiting', restart: spec.restart, starts: 0 },
    backoff: INITIAL_BACKOFF_STATE,
    startedAt: 0,
  }));
  let stopping = false;
  const changed = () => deps.onChange?.();
  const noun = deps.noun ?? 'service';

  function launch(service: Service): void {
    service.cancelTimer = undefined;
    const { spec, status } = service;
    let resolveExited: () => void = () => {};
    service.exited = new Promise((resolve) => (resolveExited = resolve));
    service.startedAt = deps.now();
    status.starts += 1;
    status.state = 'running';
    delete status.nextStartAt;
    let ended = false;
    const process = deps.spawn(spec, {
      line: (_stream, text) => deps.log.info(`[${spec.name}] ${text}`),
      exit: (code, signal, error, options) => {
        if (ended) return;
        ended = true;
        service.process = undefined;
        delete status.pid;
        resolveExited();
        onExit(service, { code, signal, ranMs: deps.now() - service.startedAt }, error, options?.retry === true);
      },
    });
    if (!ended) {
      service.process = process;
      if (process.pid !== undefined) status.pid = process.pid;
      deps.log.info(
        `${noun} ${spec.name}: started${process.pid === undefined ? '' : ` (pid ${process.pid})`}${status.starts > 1 ? `, start ${status.starts}` : ''}`,
      );
      changed();
    }
  }

  function onExit(service: Service, exit: ServiceExit, error: string | undefined, retry = false): void {
    const { status } = service;
    const spec = { ...service.spec, ...deps.policy?.(service.spec) };
    status.restart = spec.restart;
    const failedBecause = service.failedBecause;
    service.failedBecause = undefined;
    status.lastExit = { ...exit, description: describeExit(exit) };
    const cause = [error, failedBecause === undefined ? undefined : `ended as ${failedBecause}`].filter((x) => x !== undefined).join('; ');
    const what = `${noun} ${spec.name}: ${describeExit(exit)}${cause === '' ? '' : ` (${cause})`} after ${formatDuration(exit.ranMs)}`;
    // A stop someone asked for (the API) is no failure to warn about, whatever the exit.
    const failed = isFailure(exit) || failedBecause !== undefined;
    const log = (message: string) => (failed && !service.held ? deps.log.warn(message) : deps.log.info(message));
    if (stopping || service.held) {
      status.state = 'stopped';
      log(what);
    } else if (!retry && (failedBecause !== undefined ? spec.restart === 'never' : !shouldRestart(spec.restart, exit))) {
      status.state = 'exited';
      log(`${what}; not restarting (restart: ${spec.restart})`);
    } else {
      const next = nextDelay(service.backoff, exit, spec.backoff);
      service.backoff = next.state;
      status.state = 'waiting';
      status.nextStartAt = deps.now() + next.delayMs;
      log(`${what}; ${retry ? 'retry' : 'restart'} ${status.starts} in ${formatDuration(next.delayMs)}${retry ? '' : ` (restart: ${spec.restart})`}`);
      service.cancelTimer = deps.setTimer(() => launch(service), next.delayMs);
    }
    changed();
  }

  /** Until every one of `list` that is running has exited, or `ms` passed. */
  async function waitForExit(list: readonly Service[], ms: number): Promise<void> {
    const running = list.filter((s) => s.process !== undefined).map((s) => s.exited!);
    if (running.length === 0) return;
    let cancel = () => {};
    const timeout = new Promise<void>((resolve) => (cancel = deps.setTimer(resolve, ms)));
    await Promise.race([Promise.all(running), timeout]);
    cancel();
  }

  /** One running service: SIGTERM, the grace, then SIGKILL and a last wait. */
  async function terminate(service: Service, options: { termGraceMs?: number; killGraceMs?: number }): Promise<void> {
    service.process?.kill('SIGTERM');
    await waitForExit([service], options.termGraceMs ?? TERM_GRACE_MS);
    if (service.process !== undefined) {
      service.process.kill('SIGKILL');
      await waitForExit([service], options.killGraceMs ?? KILL_GRACE_MS);
    }
  }

  function signalAll(signal: 'SIGTERM' | 'SIGKILL'): string[] {
    const names: string[] = [];
    for (const service of services) {
      if (service.process === undefined) continue;
      try {
        service.process.kill(signal);
        names.push(service.spec.name);
      } catch (error) {
        deps.log.warn(`${noun} ${service.spec.name}: ${signal} failed: ${errorMessage(error)}`);
      }
    }
    return names;
  }

  return {
    start(only) {
      for (const service of services) if (only === undefined || only(service.spec.name)) launch(service);
    },
    async stop(options = {}) {
      stopping = true;
      for (const service of services) {
        service.cancelTimer?.();
        service.cancelTimer = undefined;
        if (service.process === undefined && service.status.state === 'waiting') {
          service.status.state = 'stopped';
          delete service.status.nextStartAt;
        }
      }
      const terminated = signalAll('SIGTERM');
      if (terminated.length === 0) return;
      deps.log.info(`stopping ${noun}s: ${terminated.join(', ')}`);
      await waitForExit(services, options.termGraceMs ?? TERM_GRACE_MS);
      const killed = signalAll('SIGKILL');
      if (killed.length === 0) return;
      deps.log.warn(`${noun}s still running after SIGTERM, sending SIGKILL: ${killed.join(', ')}`);
      await waitForExit(services, options.killGraceMs ?? KILL_GRACE_MS);
    },
    // A process may learn its pid after the spawn returned (a container's, from crun state): ask it now.
    status: () => services.map((s) => ({ ...structuredClone(s.status), ...(s.process?.pid !== undefined ? { pid: s.process.pid } : {}) })),
    startOne(name) {
      const service = services.find((s) => s.spec.name === name);
      if (service === undefined) return false;
      if (stopping || service.process !== undefined) return true;
      service.held = false;
      service.cancelTimer?.();
      service.backoff = INITIAL_BACKOFF_STATE;
      launch(service);
      return true;
    },
    async failOne(name, reason, options = {}) {
      const service = services.find((s) => s.spec.name === name);
      if (service?.process === undefined || stopping || service.held) return false;
      service.failedBecause = reason;
      await terminate(service, options);
      return true;
    },
    async stopOne(name, options = {}) {
      const service = services.find((s) => s.spec.name === name);
      if (service === undefined) return false;
      service.held = true;
      service.cancelTimer?.();
      service.cancelTimer = undefined;
      if (service.process === undefined) {
        service.status.state = 'stopped';
        delete service.status.nextStartAt;
        changed();
        return true;
      }
      await terminate(service, options);
      return true;
    },
  };
}
