/**
 * Progress and messages for long steps. On a terminal: a live progress bar (cli-progress) for byte-counted
 * work and a line per step; in CI or when piped: step lines only, no bars, no escape codes. `--json` keeps
 * stdout for the result, so all of this goes to stderr.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number): void;
  stop(): void;
}

export interface Reporter {
  step(message: string): void;
  info(message: string): void;
  /** A counted task (bytes by default, or items); returns a handle to update. */
  progress(label: string, total: number, unit?: 'bytes' | 'items'): Progress;
}

export function createReporter(stream: NodeJS.WriteStream | NodeJS.WritableStream, options: { quiet?: boolean; env?: NodeJS.ProcessEnv } = {}): Reporter {
  const env = options.env ?? process.env;
  const tty = (stream as NodeJS.WriteStream).isTTY === true && !env.CI;
  const write = (line: string) => {
    if (!options.quiet) stream.write(`${line}\n`);
  };
  return {
    step: (m) => write(`kiln: ${m}`),
    info: (m) => write(`kiln: ${m}`),
    progress(label, total, unit = 'bytes') {
      if (!tty || options.quiet) return { update() {}, stop() {} };
      const bar = new cliProgress.SingleBar(
        {
          stream: stream as NodeJS.WriteStream,
          format: `kiln: ${label} [{bar}] {percentage}% {done}/{size}${unit === 'bytes' ? ' MB' : ''} | {duration}s`,
          hideCursor: true,
          clearOnComplete: true,
        },
        cliProgress.Presets.shades_classic,
      );
      const mb = (n: number) => (unit === 'bytes' ? (n / 1e6).toFixed(1) : String(n));
      bar.start(total, 0, { done: mb(0), size: mb(total) });
      return {
        update: (done) => bar.update(done, { done: mb(done) }),
        stop: () => bar.stop(),
      };
    },
  };
}

export const silentReporter: Reporter = { step() {}, info() {}, progress: () => ({ update() {}, stop() {} }) };
