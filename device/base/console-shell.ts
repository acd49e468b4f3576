/**
 * The console shell of a degraded boot with `debug: true`. A kiln device has no /bin/sh; it has Node.js, so the
 * shell is a Node REPL on the console — `require('node:fs')`, `require('node:child_process')` — in its own
 * process, so whatever is typed there cannot take PID 1 down.
 */
import type { ChildProcess } from 'node:child_process';
import type { Log } from './log.ts';

export interface ConsoleShellDeps {
  log: Log;
  /** Node's own binary on the device (process.execPath). */
  node: string;
  startOnConsole: (
    program: string,
    args: readonly string[],
    env: Record<string, string>,
    onStart: (child: ChildProcess) => void,
    onExit: (code: number | null, signal: string | null) => void,
  ) => void;
  trackChild: (child: ChildProcess) => void;
}

/** Starts the REPL; `reason` completes "because ..." in the line announcing it. */
export function startConsoleShell(deps: ConsoleShellDeps, reason: string): void {
  deps.log.info(`console shell: a Node.js REPL on this console because ${reason} (debug: true); .exit leaves it`);
  // No history file: the root filesystem is RAM, and a history of a debugging session is nobody's business.
  const env = { HOME: '/', TERM: 'linux', NODE_REPL_HISTORY: '', PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };
  deps.startOnConsole(deps.node, ['--interactive'], env, deps.trackChild, (code, signal) =>
    deps.log.info(`console shell ended (${signal ?? `exit ${code ?? 'unknown'}`})`),
  );
}
