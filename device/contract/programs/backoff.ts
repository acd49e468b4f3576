/**
 * When a service is started again after it exits: the restart policy (the words containers use) decides whether,
 * the backoff how long to wait. The delay doubles with every run that ended before `resetAfterMs` and is capped at
 * `maxMs`; a run that lasted `resetAfterMs` was stable, so the next delay starts again at `initialMs`. Pure: the
 * supervisor brings the clock.
 */

export const RESTART_POLICIES = ['always', 'on-failure', 'never'] as const;
export type RestartPolicy = (typeof RESTART_POLICIES)[number];

export interface Backoff {
  initialMs: number;
  maxMs: number;
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: Readonly<Backoff> = { initialMs: 1000, maxMs: 60_000, resetAfterMs: 10_000 };

export interface ServiceExit {
  /** Exit code, or null when a signal ended it (or it never started). */
  code: number | null;
  signal: string | null;
  /** How long it ran, in ms. */
  ranMs: number;
}

/** A failure: a non-zero exit code, death by a signal, or no process at all. */
export function isFailure(exit: ServiceExit): boolean {
  return exit.code !== 0;
}

export function shouldRestart(policy: RestartPolicy, exit: ServiceExit): boolean {
  if (policy === 'always') return true;
  if (policy === 'on-failure') return isFailure(exit);
  return false;
}

/** Restarts since the last stable run. */
export interface BackoffState {
  streak: number;
}

export const INITIAL_BACKOFF_STATE: BackoffState = { streak: 0 };

/** The delay before the next start after `exit`, and the state after it. */
export function nextDelay(state: BackoffState, exit: ServiceExit, backoff: Backoff): { delayMs: number; state: BackoffState } {
  const streak = exit.ranMs >= backoff.resetAfterMs ? 0 : state.streak;
  // 2 ** streak stays exact far beyond any cap; Math.min keeps the product finite for huge streaks.
  const delayMs = Math.min(backoff.initialMs * 2 ** Math.min(streak, 52), backoff.maxMs);
  return { delayMs, state: { streak: streak + 1 } };
}

/** "exited with code 1", "killed by SIGKILL", "could not start". */
export function describeExit(exit: ServiceExit): string {
  if (exit.signal !== null) return `killed by ${exit.signal}`;
  if (exit.code === null) return 'could not start';
  return `exited with code ${exit.code}`;
}

/** "850 ms", "2.5 s", "3 min". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(1))} s`;
  return `${Number((ms / 60_000).toFixed(1))} min`;
}
