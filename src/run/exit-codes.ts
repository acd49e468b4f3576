/**
 * The one table of `kiln run` exit codes. `kiln run --help` prints `EXIT_CODE_HELP`; scripts and CI rely on these
 * numbers, so they never change meaning. 1 is left to kiln's own errors (bad config, QEMU or OVMF missing).
 */
import type { RunOutcome } from './options.js';

export interface ExitCodeRow {
  code: number;
  when: string;
}

export const EXIT_MATCHED = 0;
export const EXIT_POWEROFF_BEFORE_MATCH = 3;
export const EXIT_RESET = 4;
export const EXIT_PANIC = 5;
export const EXIT_QEMU_FAILED = 6;
export const EXIT_STOP_FORCED = 7;
export const EXIT_TIMEOUT = 124; // as timeout(1)

export const EXIT_CODES: readonly ExitCodeRow[] = [
  { code: EXIT_MATCHED, when: 'the console matched --expect; without --expect: the guest powered off; stopped and the guest powered off (or ctrl-a x)' },
  { code: 1, when: 'kiln could not start the run (an error message says why)' },
  { code: EXIT_POWEROFF_BEFORE_MATCH, when: 'the guest powered off before the console matched --expect' },
  { code: EXIT_RESET, when: 'the guest rebooted (QEMU runs with -no-reboot, so a reboot ends the run)' },
  { code: EXIT_PANIC, when: 'the guest kernel panicked ("Kernel panic - not syncing")' },
  { code: EXIT_QEMU_FAILED, when: 'QEMU failed or exited without the guest asking it to' },
  { code: EXIT_STOP_FORCED, when: 'stopped (SIGINT/SIGTERM) and the guest did not power off within 20 s, so QEMU was killed' },
  { code: EXIT_TIMEOUT, when: '--timeout passed first' },
];

export interface ExitContext {
  /** Whether --expect was given (a power-off is then a failure: the expected text never came). */
  expecting: boolean;
  /** For `stopped`: the guest powered off on request, or the user quit with ctrl-a x. */
  stoppedCleanly?: boolean;
}

export function exitCodeFor(outcome: RunOutcome, context: ExitContext): number {
  switch (outcome) {
    case 'matched':
      return EXIT_MATCHED;
    case 'poweroff':
      return context.expecting ? EXIT_POWEROFF_BEFORE_MATCH : EXIT_MATCHED;
    case 'reset':
      return EXIT_RESET;
    case 'panic':
      return EXIT_PANIC;
    case 'qemu-failed':
      return EXIT_QEMU_FAILED;
    case 'stopped':
      return context.stoppedCleanly ? EXIT_MATCHED : EXIT_STOP_FORCED;
    case 'timeout':
      return EXIT_TIMEOUT;
  }
}

/** The table as `--help` text. */
export const EXIT_CODE_HELP: string = ['Exit codes:', ...EXIT_CODES.map((row) => `  ${String(row.code).padStart(3)}  ${row.when}`)].join('\n');
