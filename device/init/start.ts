/**
 * kiln's init, start to ready: the boot stages in order, the ready line, and the shutdown triggers. Everything
 * touching the system comes in through `InitDeps`, so tests run the whole sequence against fakes.
 */
import type { HostFs } from '../sys/host-fs.ts';
import { RB_DISABLE_CAD, type Libc } from '../sys/libc.ts';
import { BOOT_CONFIG_PATH, parseBootConfig, primarySettings, type BootConfig, type DeviceSettings } from '../contract/boot-config.ts';
import type { StageContext } from '../base/context.ts';
import { storageStage } from '../storage/stage.ts';
import { secondaryStage } from '../config/secondary-stage.ts';
import { logsStage } from '../logs/stage.ts';
import { sysctlStage } from '../config/sysctl.ts';
import { networkStage } from '../net/stage.ts';
import { timeStage } from '../time/stage.ts';
import { statusStage } from '../api/stage.ts';
import { programsStage, type ProgramsHandle } from '../programs/stage.ts';
import { containersStage, NO_CONTAINERS, type ContainersHandle } from '../containers/stage.ts';
import { apiStage } from '../api/management-stage.ts';
import type { NetSys } from '../sys/net.ts';
import type { Clock } from '../sys/clock.ts';
import { runStages, type Stage } from './boot.ts';
import { crashStage, hangStage, kilnOptions, splitCmdline } from './cmdline.ts';
import { blockEventLoop } from './hang.ts';
import { attachKernelLog } from './kmsg.ts';
import type { Log } from '../base/log.ts';
import { loadModules, summarizeModules } from './modules.ts';
import { mountAll } from './mounts.ts';
import { findPowerButtons } from './power-button.ts';
import { startReaper, type Reaper } from '../base/reaper.ts';
import { POWER_BUTTON_REQUEST, SIGNAL_REQUESTS, UPDATE_REBOOT, shutdown, type ShutdownRequest } from './shutdown.ts';
import { parseUptimeMs, readyMessage } from '../base/uptime.ts';
import { errorMessage } from '../contract/error-message.ts';
import { nodeDataFs, type DataFs } from '../sys/data-fs.ts';
import { lazySched, type Sched } from '../sys/sched.ts';
import { watchdogStage } from '../watchdog/stage.ts';
import { updateStage, type UpdateHandle, type UpdateSys } from '../update/stage.ts';
import { startPolling } from '../update/pull.ts';

export interface InitDeps {
  libc: Libc;
  fs: HostFs;
  net: NetSys;
  clock: Clock;
  log: Log;
  /** Milliseconds since the Node process started (performance.now()). */
  now: () => number;
  /** `now()` when main.ts began to run: the rest before it is Node's own startup. */
  startedAt: number;
  selfPid: number;
  sleep: (ms: number) => Promise<void>;
  /** Subscribe to a process signal (process.on). */
  onSignal: (signal: string, handler: () => void) => void;
  watchPowerButtons: (paths: readonly string[], onPress: (path: string) => void, onError: (path: string, error: unknown) => void) => void;
  ownChild: (pid: number) => boolean;
  /** Where failures outside the boot sequence go (shutdown errors, reaper errors, `kiln.crash=ready`). */
  fatal: (error: unknown) => void;
  /** Run a function later, outside the current call stack (setTimeout). */
  defer: (fn: () => void) => void;
  /** The management API's unix socket. @default /run/kiln/api.sock */
  apiSocket?: string;
  /** Files on the writable partitions. @default node:fs (nodeDataFs) */
  data?: DataFs;
  /** Scheduling syscalls. @default koffi, bound on first use (lazySched) */
  sched?: Sched;
  /** EFI variables, slot files and the block reads of firmware updates; absent: updates are unavailable. */
  update?: Omit<UpdateSys, 'reboot'>;
}

export interface InitHandle {
  config: BootConfig;
  /** Mount points in mount order. */
  mounted: readonly string[];
  /** Uptime in ms the ready line reported. */
  readyUptimeMs: number;
  reaper: Reaper;
  requestShutdown(request: ShutdownRequest): void;
}

/** Stage names in boot order: the values `kiln.crash=` accepts, plus `ready` (after the ready line). */
export const STAGES = [
  'mounts',
  'kmsg',
  'ctrl-alt-del',
  'config',
  'modules',
  'watchdog',
  'storage',
  'secondary',
  'logs',
  'update',
  'sysctl',
  'hostname',
  'network',
  'time',
  'status',
  'programs',
  'containers',
  'api',
  'power-button',
  'reaper',
] as const;

export async function startInit(deps: InitDeps): Promise<InitHandle> {
  const { libc, fs, log } = deps;
  const mounted: string[] = [];
  let config: BootConfig | undefined;
  let shuttingDown = false;
  let reaper: Reaper | undefined;
  let programs: ProgramsHandle | undefined;
  let containers: ContainersHandle | undefined;
  let update: UpdateHandle | undefined;
  const shutdownHooks: (() => void)[] = [];
  const runShutdownHooks = (): void => {
    for (const hook of shutdownHooks) {
      try {
        hook();
      } catch (error) {
        log.warn(`shutdown hook failed: ${errorMessage(error)}`);
      }
    }
  };

  function requestShutdown(request: ShutdownRequest): void {
    if (shuttingDown) {
      log.info(`shutdown already in progress, ignoring ${request.reason}`);
      return;
    }
    shuttingDown = true;
    shutdown(request, {
      libc,
      fs,
      log,
      mounted,
      selfPid: deps.selfPid,
      ownChild: deps.ownChild,
      now: deps.now,
      sleep: deps.sleep,
      beforeUnmount: runShutdownHooks,
      stopServices: async () => void (await Promise.all([programs?.stop(), containers?.stop()])),
    }).catch(deps.fatal);
  }
  // Before any stage: a ctrl-alt-del or SIGTERM during boot is honoured too.
  for (const [signal, request] of Object.entries(SIGNAL_REQUESTS)) deps.onSignal(signal, () => requestShutdown(request));

  // The command line is readable once /proc is mounted (the first stage); until then there are no switches.
  let cmdline: string | undefined;
  const readCmdline = (): string | undefined => {
    if (cmdline === undefined) {
      try {
        cmdline = fs.readText('/proc/cmdline');
      } catch {
        return undefined;
      }
    }
    return cmdline;
  };
  const crashAt = (): string | undefined => {
    const text = readCmdline();
    return text === undefined ? undefined : crashStage(kilnOptions(text));
  };
  const hangAt = (): string | undefined => {
    const text = readCmdline();
    return text === undefined ? undefined : hangStage(kilnOptions(text));
  };

  // Stages after `config` share one context; `settings` starts as the primary config's.
  let settings: DeviceSettings | undefined;
  const data = deps.data ?? nodeDataFs;
  const sched = deps.sched ?? lazySched();
  const context = (): StageContext => ({
    libc,
    fs,
    data,
    sched,
    log,
    net: deps.net,
    clock: deps.clock,
    config: mustHave(config),
    settings: () => (settings ??= primarySettings(mustHave(config))),
    setSettings: (next) => void (settings = next),
    mounted,
    cmdline: readCmdline() ?? '',
    now: deps.now,
    sleep: deps.sleep,
    onSignal: deps.onSignal,
    onShutdown: (hook) => void shutdownHooks.push(hook),
  });

  const stages: Stage[] = [
    { name: 'mounts', required: true, run: () => (mountAll(libc, fs, mounted), mounted.join(' ')) },
    { name: 'kmsg', required: false, run: () => attachKernelLog(fs, log, splitCmdline(readCmdline() ?? '')) },
    {
      name: 'ctrl-alt-del',
      required: false,
      run: () => {
        libc.reboot(RB_DISABLE_CAD);
        return 'sends SIGINT to init';
      },
    },
    {
      name: 'config',
      required: true,
      run: () => {
        config = parseBootConfig(fs.readText(BOOT_CONFIG_PATH));
        return `${config.name} (kiln ${config.kilnVersion}, build ${config.buildId}, ${config.arch})`;
      },
    },
    {
      name: 'modules',
      required: false,
      run: () => {
        const outcomes = loadModules(libc, fs, mustHave(config).modules);
        for (const outcome of outcomes) if (outcome.error !== undefined) log.error(`module ${outcome.name} failed: ${outcome.error}`);
        return summarizeModules(outcomes);
      },
    },
    { name: 'watchdog', required: false, run: () => watchdogStage(context()) },
    { name: 'storage', required: false, run: () => storageStage(context()) },
    { name: 'secondary', required: false, run: () => secondaryStage(context()) },
    { name: 'logs', required: false, run: () => logsStage(context()) },
    {
      name: 'update',
      required: false,
      run: () => {
        if (deps.update === undefined) return 'unavailable (no EFI variable access in this environment)';
        const started = updateStage(context(), { ...deps.update, reboot: () => requestShutdown(UPDATE_REBOOT) });
        update = started.handle;
        return started.detail;
      },
    },
    { name: 'sysctl', required: false, run: () => sysctlStage(context()) },
    {
      name: 'hostname',
      required: false,
      run: () => {
        const { hostname } = context().settings();
        libc.sethostname(hostname);
        return hostname;
      },
    },
    { name: 'network', required: false, run: () => networkStage(context()) },
    { name: 'time', required: false, run: () => timeStage(context()) },
    { name: 'status', required: false, run: () => statusStage(context()) },
    { name: 'programs', required: false, run: () => (programs = programsStage(context())).detail },
    { name: 'containers', required: false, run: () => (containers = containersStage(context())).detail },
    { name: 'api', required: false, run: () => apiStage(context(), containers?.control ?? NO_CONTAINERS, deps.apiSocket, update) },
    {
      name: 'power-button',
      required: false,
      run: () => {
        const paths = findPowerButtons(fs);
        if (paths.length === 0) throw new Error('no input device named "Power Button" (modules button, evdev loaded?)');
        deps.watchPowerButtons(
          paths,
          () => requestShutdown(POWER_BUTTON_REQUEST),
          (path, error) => log.warn(`power button ${path}: ${errorMessage(error)}`),
        );
        return paths.join(' ');
      },
    },
    {
      name: 'reaper',
      required: true,
      run: () => {
        reaper = startReaper({ libc, fs, selfPid: deps.selfPid, ownChild: deps.ownChild }, deps.fatal);
        return 'on SIGCHLD and every 10 s';
      },
    },
  ];

  await runStages(stages, { log, now: deps.now, crashAt, hangAt });

  const crashRequest = crashAt();
  const hangRequest = hangAt();
  warnUnknownStage(log, 'crash', crashRequest);
  warnUnknownStage(log, 'hang', hangRequest);

  const readyUptimeMs = parseUptimeMs(fs.readText('/proc/uptime'));
  const now = deps.now();
  log.info(
    `boot complete: kernel ${Math.round(readyUptimeMs - now)} ms, node startup ${Math.round(deps.startedAt)} ms, ` +
      `init ${Math.round(now - deps.startedAt)} ms`,
  );
  // Console only: with a console loglevel above 6 (set on the command line) the kernel would also echo a kmsg copy,
  // and this line must appear exactly once.
  log.consoleOnly(readyMessage(readyUptimeMs));

  // A trial boot's health gate starts at the ready line: commit, or roll back by rebooting into the committed slot.
  update?.afterReady(containers?.control ?? NO_CONTAINERS);
  // The secondary config's update.source: the device pulls its firmware from a registry (update/pull.ts).
  if (update !== undefined) startPolling(update, context(), () => requestShutdown(UPDATE_REBOOT));

  if (crashRequest === 'ready') {
    // Thrown outside any promise chain: exercises the uncaught-exception handler, not the boot's own catch.
    deps.defer(() => {
      throw new Error('kiln.crash=ready on the kernel command line');
    });
  }
  // From a timer too: the event loop stops with everything started, as a hang in a running device would.
  if (hangRequest === 'ready') deps.defer(() => blockEventLoop(log, 'ready'));

  return { config: mustHave(config), mounted, readyUptimeMs, reaper: mustHave(reaper), requestShutdown };
}

/** `kiln.crash=` and `kiln.hang=` take a stage name or `ready`; anything else would silently do nothing. */
function warnUnknownStage(log: Log, key: string, request: string | undefined): void {
  if (request !== undefined && request !== 'ready' && !(STAGES as readonly string[]).includes(request)) {
    log.warn(`kiln.${key}=${request} names no stage; known: ${STAGES.join(', ')}, ready`);
  }
}

/** For values a required earlier stage sets: their absence is a bug in the stage order. */
function mustHave<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('boot stage order broken: value set by an earlier stage is missing');
  return value;
}
