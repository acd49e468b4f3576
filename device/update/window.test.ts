/** The reboot window (window.ts): inside or not, and the wait until it opens, by day and across midnight. */
import { describe, expect, it } from 'vitest';
import { inWindow, msUntilOpen } from './window.ts';

const at = (hhmm: string) => Date.parse(`2026-12-04T${hhmm}:00Z`);
const MIN = 60_000;

describe('the reboot window', () => {
  it('within a day: start included, end not', () => {
    const w = { start: '02:00', end: '04:30' };
    expect([at('01:59'), at('02:00'), at('04:29'), at('04:30')].map((t) => inWindow(w, t))).toEqual([false, true, true, false]);
    expect(msUntilOpen(w, at('01:59'))).toBe(MIN);
    expect(msUntilOpen(w, at('03:00'))).toBe(0);
    expect(msUntilOpen(w, at('04:30'))).toBe((21 * 60 + 30) * MIN);
  });

  it('across midnight when the end is before the start', () => {
    const w = { start: '22:00', end: '01:00' };
    expect([at('21:59'), at('22:00'), at('23:59'), at('00:30'), at('01:00')].map((t) => inWindow(w, t))).toEqual([false, true, true, true, false]);
    expect(msUntilOpen(w, at('12:00'))).toBe(10 * 60 * MIN);
  });

  it('no window: any time', () => {
    expect(inWindow(undefined, at('13:37'))).toBe(true);
    expect(msUntilOpen(undefined, at('13:37'))).toBe(0);
  });
});
