#!/usr/bin/env node
// Thin launcher: the CLI is compiled from src/ into dist/ by `npm ci` (the `prepare` script).
import { run } from '../dist/src/cli/main.js';

// `kiln ... | head` closes the pipe early: that is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

process.exitCode = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  cwd: process.cwd(),
});
