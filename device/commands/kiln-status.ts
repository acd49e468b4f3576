/**
 * `kiln-status`: what the init is doing — this image, its services (state, pid, starts, last exit, next restart)
 * and its commands — read from the status file the init keeps in /run/kiln. `--json` prints the file as it is.
 */
import * as fs from 'node:fs';
import { parseUptimeMs } from '../base/uptime.ts';
import { formatStatus, STATUS_PATH, type StatusFile } from '../programs/status-file.ts';

export interface ToolIo {
  stdout(text: string): void;
  stderr(text: string): void;
  readText(path: string): string;
}

export function runStatus(argv: readonly string[], io: ToolIo): number {
  if (argv.some((a) => a !== '--json')) {
    io.stderr('usage: kiln-status [--json]\n');
    return 2;
  }
  let text = '';
  let doc: StatusFile | undefined;
  // The init rewrites the file in place: a read that caught it half-way is not JSON, and the next one is.
  for (let attempt = 0; attempt < 5 && doc === undefined; attempt++) {
    try {
      text = io.readText(STATUS_PATH);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      io.stderr(`kiln-status: cannot read ${STATUS_PATH} (${code ?? String(error)}): the init writes it when it starts the programs stage\n`);
      return 1;
    }
    try {
      doc = JSON.parse(text) as StatusFile;
    } catch {
      // Torn read: try again.
    }
  }
  if (doc === undefined) {
    io.stderr(`kiln-status: ${STATUS_PATH} is not valid JSON\n`);
    return 1;
  }
  if (argv.includes('--json')) {
    io.stdout(text);
    return 0;
  }
  io.stdout(formatStatus(doc, parseUptimeMs(io.readText('/proc/uptime'))));
  return 0;
}

// The launcher imports this file with process.argv[1] set to it: run only as that program, not when imported.
if (process.argv[1] === import.meta.filename) {
  process.exitCode = runStatus(process.argv.slice(2), {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    readText: (path) => fs.readFileSync(path, 'utf8'),
  });
}
