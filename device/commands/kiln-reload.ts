/**
 * `kiln-reload`: asks the init to reload its configuration — SIGHUP to PID 1, which re-reads the secondary config
 * (device/config) and applies what changed.
 */

export interface ReloadIo {
  stdout(text: string): void;
  stderr(text: string): void;
  kill(pid: number, signal: NodeJS.Signals): void;
}

export function runReload(argv: readonly string[], io: ReloadIo): number {
  if (argv.length > 0) {
    io.stderr('usage: kiln-reload   (no arguments: sends SIGHUP to the init, PID 1)\n');
    return 2;
  }
  try {
    io.kill(1, 'SIGHUP');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    io.stderr(`kiln-reload: cannot signal the init (${code ?? String(error)})${code === 'EPERM' ? ': run it as root' : ''}\n`);
    return 1;
  }
  io.stdout('kiln-reload: asked the init (PID 1) to reload its configuration (SIGHUP)\n');
  return 0;
}

// The launcher imports this file with process.argv[1] set to it: run only as that program, not when imported.
if (process.argv[1] === import.meta.filename) {
  process.exitCode = runReload(process.argv.slice(2), {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    kill: (pid, signal) => void process.kill(pid, signal),
  });
}
