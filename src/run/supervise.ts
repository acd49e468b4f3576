/**
 * One QEMU process from start to exit: its serial console flows through kiln (echoed to stdout, watched for
 * --expect and the kernel's last words), keys flow to it, and it is stopped when the run's end is decided here —
 * a match, the timeout, a hung panic, ctrl-a x, or the caller's AbortSignal (ACPI power button first, kill after
 * 20 s). Otherwise QEMU exits by itself and outcome.ts says why.
 */
import { spawn } from 'node:child_process';
import type { ReadStream } from 'node:tty';
import { ConsoleWatcher } from './console.js';
import { EscapeKeys } from './escape-keys.js';
import { exitCodeFor } from './exit-codes.js';
import type { ResolvedRunOptions, RunOutcome, RunResult } from './options.js';
import { classifyQemuExit } from './outcome.js';
import { QmpClient } from './qmp.js';

/** How long a guest gets to power off after the ACPI power button before QEMU is killed. */
export const POWERDOWN_GRACE_MS = 20_000;
/** How long QEMU gets to exit after `quit` / SIGTERM before SIGKILL. */
const QUIT_GRACE_MS = 5_000;
/** After "Kernel panic", time for `panic=-1` to reset the machine; without it the guest hangs forever. */
const PANIC_GRACE_MS = 10_000;
const QMP_CONNECT_MS = 10_000;

export interface SuperviseInput {
  qemu: string;
  args: readonly string[];
  qmpSocket: string;
  options: ResolvedRunOptions;
  signal?: AbortSignal;
}

interface Decision {
  outcome: RunOutcome;
  stoppedCleanly?: boolean;
}

export function superviseQemu(input: SuperviseInput): Promise<RunResult> {
  const { options, signal } = input;
  const watcher = new ConsoleWatcher(options.expect);
  const timers: NodeJS.Timeout[] = [];
  const later = (ms: number, fn: () => void) => timers.push(setTimeout(fn, ms));
  let decision: Decision | undefined;
  let stopping = false; // the power button was pressed; QEMU's own exit decides how clean the stop was
  let qmp: QmpClient | undefined;
  let shutdownReason: string | undefined;
  let guestPanicked = false;
  let exited = false; // QEMU's main process is gone
  let closed = false; // ... and reaped, with its pipes closed: its process group id may be reused

  // detached: QEMU gets its own process group, so a ctrl-c at the terminal reaches kiln only (which presses the
  // power button) instead of killing QEMU outright; kiln signals the whole group when it stops QEMU.
  const child = spawn(input.qemu, input.args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  const kill = (sig: NodeJS.Signals) => {
    if (child.pid === undefined || closed) return;
    try {
      process.kill(-child.pid, sig);
    } catch {
      // already gone
    }
  };
  // Should kiln itself exit mid-run, QEMU must not live on.
  const killOnExit = () => kill('SIGKILL');
  process.once('exit', killOnExit);

  /** Ends the run with `outcome` and makes QEMU exit: QMP `quit`, else SIGTERM; SIGKILL if that does not work. */
  const finish = (outcome: RunOutcome, stoppedCleanly?: boolean) => {
    if (decision || exited) return;
    decision = { outcome, stoppedCleanly };
    if (qmp) qmp.execute('quit').catch(() => kill('SIGTERM'));
    else kill('SIGTERM');
    later(QUIT_GRACE_MS, () => kill('SIGKILL'));
  };

  // Console: echo every byte, watch the text.
  child.stdout.on('data', (chunk: Buffer) => {
    options.stdout.write(chunk);
    const found = watcher.push(chunk);
    if (found.matched) finish('matched');
    else if (found.events.includes('panic')) later(PANIC_GRACE_MS, () => finish('panic'));
  });
  child.stderr.on('data', (chunk: Buffer) => {
    // QEMU's note about the SIGTERM kiln sent is noise, not news.
    if (decision && /terminating on signal/.test(chunk.toString())) return;
    options.stderr.write(chunk);
  });
  child.stdin.on('error', () => {}); // EPIPE once QEMU is gone

  // Keys: raw mode for a TTY, the ctrl-a escape, everything else to the guest.
  const stdin = options.stdin;
  const tty = options.interactive && stdin && (stdin as ReadStream).isTTY ? (stdin as ReadStream) : undefined;
  const escapes = new EscapeKeys();
  const onKeys = (chunk: Buffer | string) => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (!options.interactive) {
      child.stdin.write(bytes);
      return;
    }
    const { forward, quit } = escapes.push(bytes);
    if (forward.length > 0) child.stdin.write(forward);
    if (quit) finish('stopped', true);
  };
  if (stdin) {
    tty?.setRawMode(true);
    if (options.interactive) options.stderr.write('kiln: console attached; ctrl-a x quits\n');
    stdin.on('data', onKeys);
  }

  // QMP: power button and the machine-level reason QEMU shut down.
  QmpClient.connect(input.qmpSocket, { timeoutMs: QMP_CONNECT_MS, alive: () => !exited })
    .then((client) => {
      if (exited) return client.close();
      qmp = client;
      client.onEvent((event) => {
        if (event.event === 'SHUTDOWN') shutdownReason = String(event.data?.reason ?? 'unknown');
        if (event.event === 'GUEST_PANICKED') guestPanicked = true;
      });
      if (stopping) void client.execute('system_powerdown').catch(() => {});
    })
    .catch((err: Error) => {
      if (!exited) options.stderr.write(`kiln: no QMP connection to QEMU (${err.message}); a stop request will kill QEMU\n`);
    });

  if (options.timeoutMs !== undefined) later(options.timeoutMs, () => finish('timeout'));

  const onAbort = () => {
    if (decision || stopping || exited) return;
    stopping = true;
    if (qmp) void qmp.execute('system_powerdown').catch(() => finish('stopped', false));
    later(POWERDOWN_GRACE_MS, () => finish('stopped', false));
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) onAbort();

  return new Promise<RunResult>((resolve) => {
    let spawnError: Error | undefined;
    child.on('error', (err) => (spawnError = err));
    // 'close' waits for the console pipes too; a process QEMU left behind could hold them open forever.
    child.on('exit', () => {
      exited = true;
      kill('SIGKILL'); // whatever QEMU left in its group has no purpose without it
      setTimeout(() => (child.stdout.destroy(), child.stderr.destroy()), 1000).unref();
    });
    child.on('close', (code, signalName) => {
      exited = closed = true;
      process.off('exit', killOnExit);
      for (const timer of timers) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (stdin) {
        stdin.off('data', onKeys);
        stdin.pause();
        tty?.setRawMode(false);
      }
      qmp?.close();
      if (spawnError) options.stderr.write(`kiln: cannot run ${input.qemu}: ${spawnError.message}\n`);

      const ending = classifyQemuExit({ console: watcher.verdict(), shutdownReason, guestPanicked, code, signal: signalName });
      const final: Decision = decision ?? (stopping ? { outcome: 'stopped', stoppedCleanly: ending === 'poweroff' } : { outcome: ending });
      resolve({
        outcome: final.outcome,
        exitCode: exitCodeFor(final.outcome, { expecting: options.expect !== undefined, stoppedCleanly: final.stoppedCleanly }),
        consoleTail: watcher.tail(),
      });
    });
  });
}
