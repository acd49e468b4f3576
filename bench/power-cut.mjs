#!/usr/bin/env node
// Power cuts during firmware updates, the figure nobody publishes: N trials, each a `kiln update` to the other of two
// builds with QEMU killed (SIGKILL) at a random moment between the start of the upload and well past the commit —
// download, write, reboot, trial, commit — then a boot that must reach ready on one of the two builds. Prints each
// trial and the totals (trials, bricks, where the device landed), then whether the update converges afterwards.
//   node bench/power-cut.mjs [--trials 100] [--max-seconds 120] [--bootindex]   (the first 7 trials: each step boundary)
// Under TCG a trial takes ~1-2 minutes. Needs the host packages (kiln setup) and a warm cache for offline builds.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
// The harness is TypeScript shared with the tests: run it through tsx, as the tests run kiln.
const r = spawnSync(
  process.execPath,
  [path.join(root, 'node_modules/tsx/dist/cli.mjs'), path.join(root, 'test/helpers/power-cut-bench.ts'), ...process.argv.slice(2)],
  {
    stdio: 'inherit',
    env: { ...process.env, CI: 'true' },
  },
);
process.exit(r.status ?? 1);
