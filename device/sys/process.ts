/**
 * Starting programs from the init: to completion with their output captured (fsck), or on the console with the
 * init's own stdin/stdout (the console shell). `onStart` gets the child before it can exit, so the caller
 * registers it with the reaper (`trackChild`) and libuv, not the reaper, collects its exit status.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface ProgramResult {
  /** Exit code; 128 + signal number when a signal ended it. */
  code: number;
  /** stdout and stderr, interleaved as they came. */
  output: string;
}

export function runProgram(program: string, args: readonly string[], onStart: (child: ChildProcess) => void): Promise<ProgramResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    onStart(child);
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? 128 + signalNumber(signal), output }));
  });
}

/** Starts `program` on the console (the init's stdio); `onExit` hears how it ended. */
export function startOnConsole(
  program: string,
  args: readonly string[],
  env: Record<string, string>,
  onStart: (child: ChildProcess) => void,
  onExit: (code: number | null, signal: string | null) => void,
): void {
  const child = spawn(program, args, { stdio: 'inherit', env });
  onStart(child);
  child.on('error', () => onExit(null, null));
  child.on('exit', (code, signal) => onExit(code, signal));
}

function signalNumber(signal: NodeJS.Signals | null): number {
  const numbers: Partial<Record<string, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGSEGV: 11, SIGTERM: 15 };
  return signal === null ? 0 : (numbers[signal] ?? 0);
}
