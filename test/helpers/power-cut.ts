/**
 * Power-cut trials of a firmware update, for test/e2e/update-power-cut.test.ts (the step boundaries) and
 * bench/power-cut.mjs (many random moments): the device runs one of two builds; `kiln update` sends it the other;
 * at a chosen moment QEMU is killed (SIGKILL: no shutdown, no sync); the machine is started again and must reach
 * ready on one of the two builds — otherwise it is a brick. At the end, updating to the newer build again must
 * converge to it, committed.
 *
 * The two builds differ in version only, with `allowDowngrade: true`, so each trial can go either way.
 */
import { copyFile, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { kiln } from './cli.js';
import { freePort, makeUpdatableDisk, updatableConfig, UpdateMachine } from './update-machine.js';

/** Console lines that mark the update's step boundaries, in order. */
export const STEP_MARKERS = {
  'receiving, slot being written': /kiln: update: receiving \S+ \(build \w+\) into slot [AB]/,
  'installed, BootNext set': /kiln: update: \S+ \(build \w+\) installed in slot [AB]; BootNext = /,
  'rebooting into it': /kiln: update: rebooting into the new firmware/,
  'firmware restarting': /reboot: Restarting system/,
  'trial boot, before its health gate': /kiln: update: trial boot of /,
  'health gate running': /kiln: update: health gate: /,
  'just committed': /kiln: update: \S+ \(build \w+\) committed: slot [AB] is first in BootOrder/,
} as const;

export type CutAt = { marker: keyof typeof STEP_MARKERS } | { afterMs: number };

export interface TrialResult {
  cut: string;
  /** The version the next boot reached ready with; undefined: none within the limit (a brick). */
  bootedVersion?: string;
  from: string;
  to: string;
  seconds: number;
}

export interface PowerCutRig {
  machine: UpdateMachine;
  key: string;
  efis: Record<string, string>;
  versions: [string, string];
  work: string;
}

const TOKEN = 'power-cut-test-token';

/** Two builds (fast profile) and a disk of the first; the machine is not started. */
export async function powerCutRig(o: { bootIndex?: boolean; root: string }): Promise<PowerCutRig> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'kiln-power-cut-'));
  await copyFile(path.join(o.root, 'examples/kiln.lock'), path.join(work, 'kiln.lock'));
  const versions: [string, string] = ['1.0.0', '1.0.1'];
  const efis: Record<string, string> = {};
  const configs: string[] = [];
  for (const version of versions) {
    const file = path.join(work, `v${version}.yml`);
    await writeFile(file, updatableConfig({ name: 'power-cut', version, token: TOKEN, update: '  allowDowngrade: true\n' }));
    configs.push(file);
  }
  await makeUpdatableDisk(work, configs[0]!, path.join(work, 'disk.img'));
  for (const [i, version] of versions.entries()) {
    const built = await kiln(['build', configs[i]!, '--out', path.join(work, `out-${version}`), '--profile', 'fast', '--json', '-q']);
    if (built.code !== 0) throw new Error(built.stderr);
    efis[version] = (JSON.parse(built.stdout) as { efi: string }).efi;
  }
  const machine = new UpdateMachine({
    disk: path.join(work, 'disk.img'),
    state: path.join(work, 'state.img'),
    port: await freePort(),
    token: TOKEN,
    bootIndex: o.bootIndex,
  });
  return { machine, key: path.join(work, 'keys/update.key'), efis, versions, work };
}

/**
 * The version the running device reports, once its API answers (after a ready line) and any trial it is in has
 * settled (committed, or rolled back by its reboot): a device on trial refuses a new update, rightly.
 */
async function runningVersion(machine: UpdateMachine, settle = false): Promise<string | undefined> {
  let version: string | undefined;
  for (let i = 0; i < 180; i++) {
    try {
      const s = await machine.status();
      version = s.running.version;
      if (!settle || s.pending?.phase !== 'trying') return version;
    } catch {
      // Not answering yet, or rebooting.
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  return version;
}

/** One trial: from a running, ready device, send the other build and cut the power at `cut`. */
export async function powerCutTrial(rig: PowerCutRig, cut: CutAt, readyLimitS = 300): Promise<TrialResult> {
  const { machine } = rig;
  const started = Date.now();
  if (!machine.running) {
    machine.start();
    if (!(await machine.waitReady(1, readyLimitS))) return { cut: 'before the trial', from: '?', to: '?', seconds: 0 };
  }
  const from = (await runningVersion(machine, true)) ?? '?';
  const to = from === rig.versions[0] ? rig.versions[1] : rig.versions[0];
  const mark = machine.out.length;
  const abort = new AbortController();
  const sending = machine.update(rig.efis[to]!, rig.key, ['--force', '--wait', '400'], abort.signal);
  let label: string;
  if ('marker' in cut) {
    label = cut.marker;
    const pattern = STEP_MARKERS[cut.marker];
    const seen = await machine.waitFor(() => pattern.test(machine.out.slice(mark)), 300);
    if (!seen) label += ' (never seen: cut at the end)';
  } else {
    label = `${(cut.afterMs / 1000).toFixed(1)} s after the upload started`;
    await new Promise((r) => setTimeout(r, cut.afterMs));
  }
  await machine.powerCut();
  abort.abort(); // kiln update would wait for an outcome this trial does not look at
  await sending;
  machine.start();
  const ready = await machine.waitReady(1, readyLimitS);
  const bootedVersion = ready ? await runningVersion(machine) : undefined;
  return { cut: label, bootedVersion, from, to, seconds: (Date.now() - started) / 1000 };
}

/** After the trials: the newer build, sent again, ends committed. */
export async function converge(rig: PowerCutRig): Promise<{ committed: boolean; version?: string; output: string }> {
  const { machine } = rig;
  if (!machine.running) {
    machine.start();
    await machine.waitReady(1);
  }
  const target = rig.versions[1];
  const current = await runningVersion(machine, true);
  if (current === target) {
    const s = await machine.status();
    if (s.slots.find((x) => x.booted)?.committed) return { committed: true, version: target, output: 'already running and committed' };
  }
  const r = await machine.update(rig.efis[target]!, rig.key, ['--force']);
  const s = await machine.status();
  return {
    committed: r.code === 0 && s.running.version === target && s.slots.some((x) => x.booted && x.committed),
    version: s.running.version,
    output: r.stdout + r.stderr,
  };
}
