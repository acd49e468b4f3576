/**
 * Time since the kernel started, from /proc/uptime ("<seconds up> <seconds idle>", two decimals), and the
 * ready line that reports it. The ready line is a contract: tests and `kiln run` look for it on the console.
 */

/** Milliseconds since the kernel started, from the text of /proc/uptime. */
export function parseUptimeMs(text: string): number {
  const seconds = /^\s*(\d+(?:\.\d+)?)\s/.exec(text + ' ');
  if (seconds === null) throw new SyntaxError(`Cannot parse /proc/uptime: ${JSON.stringify(text.slice(0, 40))}`);
  return Math.round(Number(seconds[1]) * 1000);
}

/** The one line that says boot is done (without the `kiln: ` prefix the log adds). */
export function readyMessage(uptimeMs: number): string {
  return `ready in ${Math.round(uptimeMs)} ms`;
}

/** Matches the ready line in console output, `kiln: ready in <N> ms`; group 1 is N. A serial tty ends lines with CR LF. */
export const READY_LINE = /^kiln: ready in (\d+) ms\r?$/m;
