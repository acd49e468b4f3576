/**
 * Boot stage "programs": starts the config's services in order under the supervisor, with their output in the log,
 * and keeps /run/kiln/status.json current. The init calls `stop()` at shutdown, before it signals every process.
 * This file binds the supervisor to real processes (node:child_process, registered with the reaper) and files.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { StageContext } from '../base/context.ts';
import { trackChild } from '../base/reaper.ts';
import { parseUptimeMs } from '../base/uptime.ts';
import { serviceSpecs } from '../contract/programs/boot-programs.ts';
import { LineSplitter } from './lines.ts';
import { STATUS_PATH, statusDocument } from './status-file.ts';
import { createSupervisor, type ServiceEvents, type ServiceProcess, type ServiceSpec, type Supervisor } from './supervisor.ts';
import { errorMessage } from '../contract/error-message.ts';

export interface ProgramsHandle {
  /** The stage's log detail. */
  detail: string;
  /** Ends the services (SIGTERM, grace, SIGKILL); safe to call when there are none. */
  stop(): Promise<void>;
  supervisor: Supervisor;
}

/** A service as a child of the init: stdout and stderr piped into the log line by line, stdin from /dev/null. */
export function spawnService(spec: ServiceSpec, events: ServiceEvents): ServiceProcess {
  const child = spawn(spec.command, [...spec.args], { cwd: '/', env: { ...spec.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child);
  for (const stream of ['stdout', 'stderr'] as const) {
    const splitter = new LineSplitter((text) => events.line(stream, text));
    child[stream].setEncoding('utf8');
    child[stream].on('data', (chunk: string) => splitter.push(chunk));
    child[stream].on('end', () => splitter.end());
  }
  // 'close' comes after both pipes ended, so the last lines are logged before the exit.
  child.on('close', (code, signal) => events.exit(code, signal));
  child.on('error', (error) => {
    if (child.pid === undefined) events.exit(null, null, error.message);
  });
  return {
    pid: child.pid,
    kill: (signal) => void child.kill(signal),
  };
}

export type ProgramsContext = Pick<StageContext, 'config' | 'fs' | 'log' | 'settings' | 'now'>;

/** `spawn` is the real one but in tests. */
export function programsStage(ctx: ProgramsContext, spawn: typeof spawnService = spawnService): ProgramsHandle {
  const programs = ctx.config.programs ?? [];
  const specs = serviceSpecs(programs);
  let statusDirMade = false;
  const writeStatus = () => {
    try {
      const uptime = parseUptimeMs(ctx.fs.readText('/proc/uptime'));
      const document = statusDocument(
        { ...ctx.config, hostname: ctx.settings().hostname },
        programs.map((p) => p.name),
        supervisor.status(),
        ctx.now(),
        uptime,
      );
      // Through the init's file door (a fake in tests). One small write on tmpfs; kiln-status retries a torn read.
      if (!statusDirMade) ctx.fs.mkdir(path.dirname(STATUS_PATH), 0o755);
      statusDirMade = true;
      ctx.fs.writeText(STATUS_PATH, `${JSON.stringify(document)}\n`);
    } catch (error) {
      ctx.log.warn(`cannot write ${STATUS_PATH}: ${errorMessage(error)}`);
    }
  };
  const supervisor = createSupervisor(specs, {
    spawn,
    log: ctx.log,
    now: ctx.now,
    setTimer: (fn, ms) => {
      const timer = setTimeout(fn, ms);
      return () => clearTimeout(timer);
    },
    onChange: writeStatus,
  });
  supervisor.start();
  writeStatus();
  const commands = programs.length === 0 ? 'no programs' : `${programs.length} command${programs.length === 1 ? '' : 's'}`;
  const detail = specs.length === 0 ? commands : `${commands}; services started: ${specs.map((s) => s.name).join(', ')}`;
  return { detail, stop: () => supervisor.stop(), supervisor };
}
