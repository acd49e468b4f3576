// The CLI entry used by tests: the same `run` as bin/kiln.js, loaded from src/ so tests need no compile step.
import { run } from '../../src/cli/main.js';

process.exitCode = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  cwd: process.cwd(),
});
