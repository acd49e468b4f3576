import { describe, expect, it } from 'vitest';
import { describeExit, formatDuration, INITIAL_BACKOFF_STATE, nextDelay, shouldRestart, type ServiceExit } from './backoff.ts';

const backoff = { initialMs: 1000, maxMs: 8000, resetAfterMs: 10_000 };
const fail = (ranMs: number): ServiceExit => ({ code: 1, signal: null, ranMs });

describe('restart policy', () => {
  it('uses the container words', () => {
    const ok: ServiceExit = { code: 0, signal: null, ranMs: 5 };
    const killed: ServiceExit = { code: null, signal: 'SIGKILL', ranMs: 5 };
    const table = (['always', 'on-failure', 'never'] as const).map((p) => [p, shouldRestart(p, ok), shouldRestart(p, fail(5)), shouldRestart(p, killed)]);
    expect(table).toEqual([
      ['always', true, true, true],
      ['on-failure', false, true, true],
      ['never', false, false, false],
    ]);
  });
});

describe('backoff schedule', () => {
  it('doubles after each short run, up to the cap', () => {
    let state = INITIAL_BACKOFF_STATE;
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      const next = nextDelay(state, fail(500), backoff);
      delays.push(next.delayMs);
      state = next.state;
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 8000, 8000, 8000]);
  });

  it('starts again from the initial delay after a stable run', () => {
    let state = INITIAL_BACKOFF_STATE;
    for (let i = 0; i < 3; i++) state = nextDelay(state, fail(500), backoff).state; // 1 s, 2 s, 4 s
    expect(nextDelay(state, fail(9_999), backoff).delayMs).toBe(8000);
    const afterStable = nextDelay(state, fail(10_000), backoff);
    expect(afterStable.delayMs).toBe(1000);
    expect(nextDelay(afterStable.state, fail(500), backoff).delayMs).toBe(2000);
  });

  it('stays finite for absurd streaks', () => {
    expect(nextDelay({ streak: 5000 }, fail(1), backoff).delayMs).toBe(8000);
  });
});

describe('words for the log', () => {
  it('describes exits and durations', () => {
    expect(describeExit({ code: 3, signal: null, ranMs: 0 })).toBe('exited with code 3');
    expect(describeExit({ code: null, signal: 'SIGTERM', ranMs: 0 })).toBe('killed by SIGTERM');
    expect(describeExit({ code: null, signal: null, ranMs: 0 })).toBe('could not start');
    expect([850, 1000, 2500, 90_000].map(formatDuration)).toEqual(['850 ms', '1 s', '2.5 s', '1.5 min']);
  });
});
