/**
 * Runs boot stages in order, timing each one and logging it, e.g. "kiln: modules: 7 loaded (41 ms)".
 *
 * A required stage that fails stops the boot (the caller's crash path takes over); an optional one is logged as a
 * warning and the boot goes on. `kiln.crash=<stage>` makes the named stage fail after its work is done, whether
 * required or not, to exercise the crash path on a real device; `kiln.hang=<stage>` blocks the event loop after the
 * stage's line, succeeded or not, to exercise the watchdog.
 */
import type { Log } from '../base/log.ts';
import { errorMessage } from '../contract/error-message.ts';
import { blockEventLoop } from './hang.ts';

export interface Stage {
  name: string;
  required: boolean;
  /** Returns a short detail for the log line. */
  run(): Promise<string | void> | string | void;
}

export class BootStageError extends Error {
  readonly stage: string;
  constructor(stage: string, cause: unknown) {
    super(`boot stage ${stage} failed: ${errorMessage(cause)}`, { cause });
    this.name = 'BootStageError';
    this.stage = stage;
  }
}

/** The failure `kiln.crash=<stage>` asks for. */
export class InjectedCrash extends Error {
  constructor(stage: string) {
    super(`kiln.crash=${stage} on the kernel command line`);
    this.name = 'InjectedCrash';
  }
}

export interface RunnerDeps {
  log: Log;
  /** Milliseconds on a monotonic clock. */
  now: () => number;
  /** The stage `kiln.crash=` names; asked after each stage, since the command line is unreadable before /proc. */
  crashAt: () => string | undefined;
  /** The stage `kiln.hang=` names; asked after each stage like `crashAt`. */
  hangAt?: () => string | undefined;
  /** Blocks the event loop for good. @default blockEventLoop (tests pass one that returns) */
  hang?: (stage: string) => void;
}

export interface StageResult {
  name: string;
  ok: boolean;
  ms: number;
}

function formatMs(ms: number): string {
  return `${Math.round(ms)} ms`;
}

export async function runStages(stages: readonly Stage[], deps: RunnerDeps): Promise<StageResult[]> {
  const results: StageResult[] = [];
  for (const stage of stages) {
    const started = deps.now();
    let detail: string | void;
    try {
      detail = await stage.run();
      if (deps.crashAt() === stage.name) throw new InjectedCrash(stage.name);
    } catch (error) {
      const ms = deps.now() - started;
      if (stage.required || error instanceof InjectedCrash) throw new BootStageError(stage.name, error);
      deps.log.warn(`${stage.name} failed (${formatMs(ms)}): ${errorMessage(error)}`);
      results.push({ name: stage.name, ok: false, ms });
      hangIfAsked(stage.name, deps);
      continue;
    }
    const ms = deps.now() - started;
    deps.log.info(`${stage.name}: ${detail === undefined || detail === '' ? 'ok' : detail} (${formatMs(ms)})`);
    results.push({ name: stage.name, ok: true, ms });
    hangIfAsked(stage.name, deps);
  }
  return results;
}

function hangIfAsked(stage: string, deps: RunnerDeps): void {
  if (deps.hangAt?.() === stage) (deps.hang ?? ((name) => blockEventLoop(deps.log, name)))(stage);
}
