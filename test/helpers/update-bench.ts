/** bench/update.mjs's body (see there). Measures; asserts nothing. */
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { kiln } from './cli.js';
import { freePort, makeUpdatableDisk, updatableConfig, UpdateMachine } from './update-machine.js';

const root = path.resolve(import.meta.dirname, '../..');
const TOKEN = 'update-bench-token';
const work = await mkdtemp(path.join(os.tmpdir(), 'kiln-update-bench-'));
const key = path.join(work, 'keys/update.key');
const config = async (version: string, kernel = '') => {
  const file = path.join(work, `v${version}.yml`);
  await writeFile(file, updatableConfig({ name: 'update-bench', version, token: TOKEN, kernel }));
  return file;
};
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
try {
  await copyFile(path.join(root, 'examples/kiln.lock'), path.join(work, 'kiln.lock'));
  await makeUpdatableDisk(work, await config('1.0.0'), path.join(work, 'v1.img'));
  const machine = new UpdateMachine({ disk: path.join(work, 'v1.img'), state: path.join(work, 'state.img'), port: await freePort(), token: TOKEN });
  machine.start();
  await machine.waitReady(1);
  await machine.stop();
  // The yardstick: a cold boot of the committed firmware (the first boot above also wrote the boot entries).
  let t = Date.now();
  machine.start();
  await machine.waitReady(1);
  const cold = Date.now() - t;

  // Built once before the clock starts (kiln update's own build is then a cache hit of ~2 s): the device's part counts.
  const v2 = await config('1.1.0');
  const v3 = await config('1.2.0', '  cmdline: kiln.crash=config\n');
  const sizes: number[] = [];
  for (const file of [v2, v3]) {
    const built = await kiln(['build', file, '--out', path.join(work, 'out'), '--profile', 'fast', '--json', '-q']);
    sizes.push((JSON.parse(built.stdout) as { size: number }).size);
  }
  const efiBytes = sizes[0]!;
  t = Date.now();
  const ok = await machine.update(v2, key);
  const committed = Date.now() - t;
  t = Date.now();
  const failed = await machine.update(v3, key);
  const rolledBack = Date.now() - t;
  const out = machine.out;
  await machine.stop();
  const variables = (out.match(/kiln: update: wrote ([^\n]+)/g) ?? []).join('; ');
  console.log(`cold boot to ready: ${seconds(cold)} (the yardstick)`);
  console.log(
    `kiln update to committed: ${seconds(committed)} = ${(committed / cold).toFixed(1)}× a cold boot (exit ${ok.code}; includes the fast build of the changed config)`,
  );
  console.log(
    `a failed trial (init crash) back on the committed firmware, reported: ${seconds(rolledBack)} = ${(rolledBack / cold).toFixed(1)}× (exit ${failed.code})`,
  );
  console.log(
    `written per update: the slot gets the EFI once (${(efiBytes / 1e6).toFixed(1)} MB), the ESP fallback the same again after a commit, ` +
      `the state file (~1 KB) 4-5 times, EFI variables only where their bytes changed: ${variables || 'none logged'}`,
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
