/**
 * One run of a container with Debian's crun: `crun create` (the container's process exists, stopped before the
 * user's code), the real-time policy and CPU affinity applied to that process and read back, `crun start`, and the
 * exit status collected by the init's reaper (crun create exits at once, so the container's process is an orphan
 * re-parented to the init). After the exit `crun delete --force` removes crun's state and the container's cgroup.
 *
 * The container's stdout and stderr are the pipes `crun create` was given: they stay open in the container's
 * process after crun exits, so its output arrives here line by line until it ends.
 */
import { execFile, spawn } from 'node:child_process';
import { constants } from 'node:os';
import { promisify } from 'node:util';
import type { ContainerConfig } from '../contract/config/containers-schema.ts';
import { trackChild, watchOrphanExit } from '../base/reaper.ts';
import { LineSplitter } from '../programs/lines.ts';
import type { ServiceEvents, ServiceProcess } from '../programs/supervisor.ts';
import { decodeWaitStatus } from '../sys/libc.ts';
import { POLICY_NAMES, SCHED_FIFO, SCHED_RR, type Sched } from '../sys/sched.ts';

const execFileAsync = promisify(execFile);

/**
 * crun as a Node child, registered with the reaper: an untracked child's exit could be reaped by the init's zombie
 * reaper before libuv sees it, and its promise would then never settle (seen: `crun exec` healthchecks hanging).
 */
function run(
  file: string,
  args: readonly string[],
  options: { maxBuffer: number; timeout: number; killSignal: NodeJS.Signals },
): Promise<{ stdout: string; stderr: string }> {
  const pending = execFileAsync(file, args, { ...options, encoding: 'utf8' });
  trackChild(pending.child);
  return pending;
}

export const CRUN = '/usr/bin/crun';
/** crun's state folder (its default is /run/crun; kiln's own keeps `ls /run/kiln` telling the whole story). */
export const CRUN_ROOT = '/run/kiln/crun';
const CREATE_TIMEOUT_MS = 60_000;

/**
 * crun's state changes (create … start, delete) run one at a time, in start order: concurrent ones under TCG left
 * the first of four containers stuck in `create`, and a `delete` beside another's `create` never returned. One at a
 * time, each start also follows the previous one's `crun start` (what dependsOn needs).
 */
let createQueue: Promise<unknown> = Promise.resolve();
function oneAtATime<T>(step: () => Promise<T>): Promise<T> {
  const next = createQueue.then(step, step);
  createQueue = next.catch(() => undefined);
  return next;
}

export interface CrunDeps {
  sched: Sched;
  /** Writes the bundle (config.json) and returns its folder; throws when the container cannot be prepared. */
  prepare(): Promise<string>;
  /** Notes about the run (real-time applied, mismatches). */
  info(message: string): void;
  warn(message: string): void;
  /** After `crun start` succeeded: the container's own code runs (its healthchecks may begin). */
  started?(): void;
  /** Before the start queue: fetch what the store lacks (a pull), so a slow pull holds up no other container. */
  fetch?(): Promise<void>;
}

const SIGNAL_NAMES = new Map(Object.entries(constants.signals).map(([name, number]) => [number, name]));

async function crun(...args: string[]): Promise<string> {
  // No crun command may hang the supervisor: 30 s is far beyond what any takes, even under TCG.
  const { stdout } = await run(CRUN, ['--root', CRUN_ROOT, ...args], { maxBuffer: 1 << 20, timeout: 30_000, killSignal: 'SIGKILL' });
  return stdout;
}

function errorText(error: unknown): string {
  const e = error as { stderr?: string; message?: string };
  return (e.stderr?.trim() || e.message || String(error)).split('\n').pop()!;
}

/** Runs `argv` inside the running container `name` (a healthcheck): undefined when it exits 0, else why not. */
export async function crunExec(name: string, argv: readonly string[], timeoutMs: number): Promise<string | undefined> {
  try {
    await run(CRUN, ['--root', CRUN_ROOT, 'exec', name, ...argv], { maxBuffer: 1 << 20, timeout: timeoutMs, killSignal: 'SIGKILL' });
    return undefined;
  } catch (error) {
    const e = error as { code?: number | string; killed?: boolean; stderr?: string };
    if (e.killed === true) return `no exit within ${timeoutMs} ms`;
    return typeof e.code === 'number' ? `exit code ${e.code}${e.stderr?.trim() ? `: ${e.stderr.trim().split('\n').pop()}` : ''}` : errorText(error);
  }
}

/** Apply the container's real-time settings to `pid` and read them back; returns a description, throws on mismatch. */
export function applyRealtime(sched: Sched, pid: number, realtime: NonNullable<ContainerConfig['realtime']>): string {
  const policy = realtime.policy === 'fifo' ? SCHED_FIFO : SCHED_RR;
  // Affinity first: the first instant the process runs with its real-time priority, it is already on its CPUs.
  if (realtime.cpus !== undefined) sched.setAffinity(pid, realtime.cpus);
  sched.setScheduler(pid, policy, realtime.priority);
  const actual = sched.getScheduler(pid);
  const cpus = sched.getAffinity(pid);
  const described = `${POLICY_NAMES[actual.policy] ?? actual.policy} priority ${actual.priority}, CPUs {${cpus.join(',')}}`;
  const cpusWrong = realtime.cpus !== undefined && [...realtime.cpus].sort((a, b) => a - b).join(',') !== cpus.join(',');
  if (actual.policy !== policy || actual.priority !== realtime.priority || cpusWrong)
    throw new Error(`real-time settings did not hold: read back ${described}`);
  return described;
}

/** Starts one run; `events.exit` is called exactly once, when it ended or could not start. */
export function runContainer(c: ContainerConfig, events: ServiceEvents, deps: CrunDeps): ServiceProcess {
  const handle: ServiceProcess & { pid: number | undefined } = {
    pid: undefined,
    kill: (signal) => {
      // SIGTERM from the supervisor means "stop": the container's own stop signal.
      const name = signal === 'SIGTERM' ? c.stopSignal : signal;
      crun('kill', c.name, name).catch((error) => deps.warn(`container ${c.name}: crun kill ${name}: ${errorText(error)}`));
    },
  };
  let ended = false;
  const end = async (code: number | null, signal: string | null, error?: string, inQueue = false) => {
    if (ended) return;
    ended = true;
    // In the queue too: a delete beside another container's create was seen to never return.
    const remove = () => crun('delete', '--force', c.name).catch(() => undefined);
    await (inQueue ? remove() : oneAtATime(remove));
    events.exit(code, signal, error);
  };

  void (async () => {
    try {
      await deps.fetch?.();
    } catch (error) {
      // Nothing was created: no delete. A pull that failed is tried again with backoff, whatever the policy.
      ended = true;
      events.exit(null, null, errorText(error), { retry: true });
      return;
    }
    await oneAtATime(runOnce);
  })();
  async function runOnce(): Promise<void> {
    try {
      // A run that the previous boot or a crash of this one left behind would make `create` fail.
      await crun('delete', '--force', c.name).catch(() => undefined);
      const bundle = await deps.prepare();
      let drained: Promise<void> = Promise.resolve();
      const output = new Promise<void>((resolve, reject) => {
        // --no-pivot: the device's own root is the initramfs, where pivot_root(2) fails with EINVAL; crun then moves
        // the container's root over / and chroots into it. CAP_SYS_CHROOT is not in the default capabilities.
        const child = spawn(CRUN, ['--root', CRUN_ROOT, 'create', '--no-pivot', '--bundle', bundle, c.name], { stdio: ['ignore', 'pipe', 'pipe'] });
        trackChild(child);
        let outputDone: () => void = () => {};
        drained = new Promise<void>((r) => (outputDone = r));
        let pipesOpen = 2;
        for (const stream of ['stdout', 'stderr'] as const) {
          const splitter = new LineSplitter((text) => events.line(stream, text));
          child[stream].setEncoding('utf8');
          child[stream].on('data', (chunk: string) => splitter.push(chunk));
          child[stream].on('end', () => {
            splitter.end();
            if (--pipesOpen === 0) outputDone();
          });
        }
        // A create that never finishes would hold the container in "running" for ever: give up after a minute.
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`crun create did not finish within ${CREATE_TIMEOUT_MS / 1000} s`));
        }, CREATE_TIMEOUT_MS);
        child.on('error', reject);
        child.on('exit', (code) => {
          clearTimeout(timer);
          if (code === 0) resolve();
          else reject(new Error(`crun create exited ${code}`));
        });
      });
      await output;
      const state = JSON.parse(await crun('state', c.name)) as { pid?: number };
      const pid = state.pid;
      if (pid === undefined || pid <= 0) throw new Error('crun state reports no pid');
      handle.pid = pid;
      watchOrphanExit(pid, (status) => {
        const { code, signal } = decodeWaitStatus(status);
        // The last lines first, then the exit (as for program services).
        // A daemon forked inside may hold the pipes open: the exit is not held up by more than a second.
        void Promise.race([drained, new Promise((r) => setTimeout(r, 1000))]).then(() =>
          end(code, signal === null ? null : (SIGNAL_NAMES.get(signal) ?? `signal ${signal}`)),
        );
      });
      if (c.realtime !== undefined) deps.info(`container ${c.name}: ${applyRealtime(deps.sched, pid, c.realtime)} (before its code runs)`);
      await crun('start', c.name);
      deps.started?.();
    } catch (error) {
      await end(null, null, errorText(error), true);
    }
  }
  return handle;
}
