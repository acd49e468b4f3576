#!/usr/bin/env node
// Firmware updates under TCG, in one run on one kept disk: a cold boot to ready (the yardstick: the machine's speed
// decides every figure here, so each is also given as a multiple of it), `kiln update` of a changed config to
// committed (upload, write, read-back, reboot, trial boot, health gate), and a failed trial (an init that crashes at
// boot) back to the committed firmware, reported; and what an update writes to the device's flash.
//   node bench/update.mjs
// Needs the host packages (kiln setup) and a warm cache. Measures; asserts nothing.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const r = spawnSync(
  process.execPath,
  [path.join(root, 'node_modules/tsx/dist/cli.mjs'), path.join(root, 'test/helpers/update-bench.ts'), ...process.argv.slice(2)],
  {
    stdio: 'inherit',
    env: { ...process.env, CI: 'true' },
  },
);
process.exit(r.status ?? 1);
