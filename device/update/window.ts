/**
 * The reboot window of pulled firmware (the secondary config's `update.window`, UTC): whether a moment is inside
 * it, and how long until it opens. A window whose end is before its start spans midnight ("22:00"–"04:00"). Pure:
 * the poller asks with the wall clock, the tests with fixed times.
 */
import type { UpdateWindow } from '../contract/config/update-pull-schema.ts';

const DAY_MS = 24 * 3600 * 1000;

function msOfDay(hhmm: string): number {
  const [hours, minutes] = hhmm.split(':').map(Number) as [number, number];
  return (hours * 60 + minutes) * 60_000;
}

/** True inside the window (start included, end not); always true without one. */
export function inWindow(window: UpdateWindow | undefined, at: number): boolean {
  if (window === undefined) return true;
  const now = ((at % DAY_MS) + DAY_MS) % DAY_MS;
  const start = msOfDay(window.start);
  const end = msOfDay(window.end);
  return start < end ? now >= start && now < end : now >= start || now < end;
}

/** Milliseconds from `at` until the window next opens; 0 inside it. */
export function msUntilOpen(window: UpdateWindow | undefined, at: number): number {
  if (inWindow(window, at)) return 0;
  const now = ((at % DAY_MS) + DAY_MS) % DAY_MS;
  return (msOfDay(window!.start) - now + DAY_MS) % DAY_MS;
}
