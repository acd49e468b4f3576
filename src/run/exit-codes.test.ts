import { describe, expect, test } from 'vitest';
import { EXIT_CODE_HELP, EXIT_CODES, exitCodeFor } from './exit-codes.js';
import type { RunOutcome } from './options.js';

describe('exit codes', () => {
  test('the table', () => {
    const expecting = { expecting: true };
    expect(exitCodeFor('matched', expecting)).toBe(0);
    expect(exitCodeFor('poweroff', { expecting: false })).toBe(0);
    expect(exitCodeFor('poweroff', expecting)).toBe(3);
    expect(exitCodeFor('reset', expecting)).toBe(4);
    expect(exitCodeFor('reset', { expecting: false })).toBe(4);
    expect(exitCodeFor('panic', expecting)).toBe(5);
    expect(exitCodeFor('qemu-failed', expecting)).toBe(6);
    expect(exitCodeFor('stopped', { expecting: true, stoppedCleanly: true })).toBe(0);
    expect(exitCodeFor('stopped', { expecting: true, stoppedCleanly: false })).toBe(7);
    expect(exitCodeFor('timeout', expecting)).toBe(124);
  });

  test('failures are distinct from each other and from success', () => {
    const failures: RunOutcome[] = ['reset', 'panic', 'qemu-failed', 'timeout'];
    const codes = [
      exitCodeFor('poweroff', { expecting: true }),
      exitCodeFor('stopped', { expecting: false }),
      ...failures.map((o) => exitCodeFor(o, { expecting: true })),
    ];
    expect(new Set(codes).size).toBe(codes.length);
    expect(codes).not.toContain(0);
    expect(codes).not.toContain(1);
  });

  test('every code in use is in the help table', () => {
    const documented = new Set(EXIT_CODES.map((r) => r.code));
    for (const code of [0, 1, 3, 4, 5, 6, 7, 124]) expect(documented.has(code)).toBe(true);
    expect(EXIT_CODE_HELP).toMatch(/^Exit codes:\n {4}0 {2}/);
    expect(EXIT_CODE_HELP).toContain('124  --timeout');
  });
});
