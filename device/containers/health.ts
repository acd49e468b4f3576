/**
 * Container healthchecks: a probe (exec inside the container, a TCP connect, an HTTP GET) every `intervalSeconds`
 * while the container runs. `retries` failures in a row make it unhealthy — the stage then ends it as failed, so
 * its restart policy and backoff apply (restart: never keeps it running, reported unhealthy). Failures within
 * `startPeriodSeconds` of a start do not count. The first success makes it healthy: what dependsOn waits for.
 *
 * Probes never reject: they resolve with undefined (healthy) or the reason, so one bad probe cannot stop the loop.
 */
import { connect } from 'node:net';
import type { Healthcheck } from '../contract/config/containers-schema.ts';
import { describeFetchError } from '../contract/oci/fetch-error.ts';

export type HealthState = 'starting' | 'healthy' | 'unhealthy';

export interface HealthStatus {
  state: HealthState;
  /** Failed checks in a row. */
  failures: number;
  checks: number;
  /** Why the last check failed. */
  last?: string;
}

/** Undefined when healthy, else why not. */
export type Probe = (timeoutMs: number) => Promise<string | undefined>;

export function tcpProbe(port: number, host = '127.0.0.1'): Probe {
  return (timeoutMs) =>
    new Promise((resolve) => {
      const socket = connect({ host, port });
      const done = (reason: string | undefined) => {
        clearTimeout(timer);
        socket.destroy();
        resolve(reason);
      };
      const timer = setTimeout(() => done(`no connection to ${host}:${port} within ${timeoutMs} ms`), timeoutMs);
      socket.once('connect', () => done(undefined));
      socket.once('error', (error: NodeJS.ErrnoException) => done(`${host}:${port}: ${error.code ?? error.message}`));
    });
}

export function httpProbe(port: number, path: string, host = '127.0.0.1'): Probe {
  return async (timeoutMs) => {
    const url = `http://${host}:${port}${path}`;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
      await response.body?.cancel();
      return response.status >= 200 && response.status < 400 ? undefined : `GET ${url}: HTTP ${response.status}`;
    } catch (error) {
      return `GET ${url}: ${(error as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : describeFetchError(error)}`;
    }
  };
}

/** The probe a healthcheck names; `exec` runs through the given runner (crun exec in the container). */
export function probeFor(h: Healthcheck, exec: (argv: readonly string[], timeoutMs: number) => Promise<string | undefined>): Probe {
  if (h.exec !== undefined) return (timeoutMs) => exec(h.exec!, timeoutMs);
  if (h.tcp !== undefined) return tcpProbe(h.tcp.port);
  return httpProbe(h.http!.port, h.http!.path);
}

/** "exec /bin/check", "tcp :8080", "http :8080/health": for the log. */
export function describeCheck(h: Healthcheck): string {
  if (h.exec !== undefined) return `exec ${h.exec.join(' ')}`;
  if (h.tcp !== undefined) return `tcp :${h.tcp.port}`;
  return `http :${h.http!.port}${h.http!.path}`;
}

export interface HealthMonitorDeps {
  now(): number;
  setTimer(fn: () => void, ms: number): () => void;
  log: { info(message: string): void; warn(message: string): void };
  /** Every change of state. */
  onChange(status: HealthStatus): void;
  /** Once per run, when it turns unhealthy. */
  onUnhealthy(reason: string): void;
}

export interface HealthMonitor {
  /** The container (re)started: back to "starting", checks from now on. */
  started(): void;
  /** It stopped: no more checks until the next start. */
  stopped(): void;
  status(): HealthStatus;
}

export function createHealthMonitor(name: string, h: Healthcheck, probe: Probe, deps: HealthMonitorDeps): HealthMonitor {
  let status: HealthStatus = { state: 'starting', failures: 0, checks: 0 };
  let cancel: (() => void) | undefined;
  let run = 0;
  let startedAt = 0;
  const what = describeCheck(h);

  const schedule = (current: number) => {
    cancel = deps.setTimer(() => void check(current), h.intervalSeconds * 1000);
  };
  const set = (next: HealthStatus) => {
    const changed = next.state !== status.state;
    status = next;
    if (changed) deps.onChange(status);
  };

  async function check(current: number): Promise<void> {
    const reason = await probe(h.timeoutSeconds * 1000);
    if (current !== run) return; // stopped or restarted while the probe ran
    const checks = status.checks + 1;
    if (reason === undefined) {
      if (status.state !== 'healthy') deps.log.info(`container ${name}: healthy (${what})`);
      set({ state: 'healthy', failures: 0, checks });
    } else if (status.state === 'starting' && deps.now() - startedAt < h.startPeriodSeconds * 1000) {
      set({ ...status, checks, last: reason });
    } else {
      const failures = status.failures + 1;
      if (failures >= h.retries && status.state !== 'unhealthy') {
        deps.log.warn(`container ${name}: unhealthy: ${failures} checks in a row failed (${what}: ${reason})`);
        set({ state: 'unhealthy', failures, checks, last: reason });
        deps.onUnhealthy(reason);
        if (current !== run) return;
      } else set({ ...status, failures, checks, last: reason });
    }
    schedule(current);
  }

  return {
    started() {
      run += 1;
      cancel?.();
      startedAt = deps.now();
      set({ state: 'starting', failures: 0, checks: 0 });
      schedule(run);
    },
    stopped() {
      run += 1;
      cancel?.();
      cancel = undefined;
    },
    status: () => ({ ...status }),
  };
}
