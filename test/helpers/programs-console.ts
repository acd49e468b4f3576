/**
 * What test/e2e/programs.test.ts expects on the console of its one boot, as a function of the console text, so the
 * checks can also be run against a saved console (and against a deliberately damaged one) without booting.
 */
import { expect } from 'vitest';

/** The init's own console lines (not the kernel's echo of its warnings), without the "kiln: " prefix. */
export function initLines(out: string): string[] {
  return out
    .split(/\r?\n/)
    .filter((l) => l.startsWith('kiln: '))
    .map((l) => l.slice('kiln: '.length));
}

/** flaky's restart lines: (restart number, delay in seconds). */
export const RESTART = /^service flaky: exited with code 1 after [\d.]+ m?s; restart (\d+) in (\d+) s \(restart: on-failure\)$/;

export function checkProgramsConsole(out: string): void {
  const lines = initLines(out);
  const line = (re: RegExp) => lines.findIndex((l) => re.test(l));

  expect(out.match(/kiln: ready in \d+ ms/g)).toHaveLength(1);
  expect(line(/^programs: 5 commands; services started: heartbeat, flaky, broken, check-programs \(\d+ ms\)$/)).toBeGreaterThan(0);

  // greet (npm dependency ms): compiled on its first run, from the compile cache on its second; output on the console.
  const greet = lines.filter((l) => l.startsWith('[check-programs] check: greet: '));
  expect(greet.filter((l) => /check: greet: exit 0 in \d+ ms$/.test(l))).toHaveLength(2);
  expect(greet.some((l) => /greet: hello e2e, from kiln-programs-e2e \(up [\d.]+ \w+/.test(l))).toBe(true);
  expect(greet.some((l) => /greet: hello again, from kiln-programs-e2e/.test(l))).toBe(true);
  const trace = greet.filter((l) => l.includes('kiln-run: greet: loaded in'));
  expect(trace).toHaveLength(2);
  expect(trace[0]).toMatch(/compiled \(\d+ cache entries written\)$/);
  expect(trace[1]).toMatch(/all from the compile cache$/);

  // broken: file:line:col on the console, nothing of it ran, the device carries on.
  const syntax = line(/^\[broken\] broken: \/src\/broken\/sum\.ts:3:42: syntax error: Expected ',', got ';'$/);
  expect(syntax).toBeGreaterThan(0);
  expect(out).not.toContain('this line must never print');
  const brokenExit = line(/^service broken: exited with code 1 after [\d.]+ m?s; not restarting \(restart: never\)$/);
  expect(brokenExit).toBeGreaterThan(syntax);
  expect(lines.slice(brokenExit).some((l) => /^\[heartbeat\] heartbeat: beat \d+/.test(l))).toBe(true);

  // flaky: restarted per on-failure with growing delays, 1 s, 2 s, 4 s (the cap): (restart, delay) pairs.
  const delays = lines.flatMap((l) => RESTART.exec(l)?.slice(1, 3).map(Number) ?? []);
  expect(delays.slice(0, 6)).toEqual([1, 1, 2, 2, 3, 4]);
  expect(lines.filter((l) => l === '[flaky] flaky: something went wrong, exiting with code 1').length).toBeGreaterThanOrEqual(3);

  // kiln-status, run from PATH like any program, shows the services.
  expect(lines.some((l) => /^\[check-programs\] check: kiln-status: heartbeat +running +\d+ +1 +-$/.test(l))).toBe(true);
  expect(lines.some((l) => /^\[check-programs\] check: kiln-status: broken +exited +- +1 +exited with code 1 after .* \(restart: never\)$/.test(l))).toBe(true);

  // Shutdown: services stopped (SIGTERM, heartbeat exits cleanly) before the global kill.
  const stop = line(/^stopping services: heartbeat/);
  expect(stop).toBeGreaterThan(0);
  expect(line(/^\[heartbeat\] heartbeat: stopping after \d+ beats$/)).toBeGreaterThan(stop);
  expect(out).toMatch(/reboot: Power down/);
}
