/**
 * End to end: a power cut (SIGKILL to QEMU: no shutdown, no sync) at four step boundaries of an update — while the
 * slot is written, once BootNext is set, in the trial boot before its health gate, right after the commit — and
 * after each the next boot reaches ready on one of the two builds, never neither; then the update, sent again,
 * converges to the newer build, committed. Every boundary (STEP_MARKERS) and many random moments are
 * bench/power-cut.mjs's, which prints trials and bricks; CI keeps four (~1-1.5 min a trial under TCG). The firmware's own
 * BootOrder decides (no bootindex).
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { converge, powerCutRig, powerCutTrial, STEP_MARKERS, type PowerCutRig, type TrialResult } from '../helpers/power-cut.js';

const root = path.resolve(import.meta.dirname, '../..');
let rig: PowerCutRig;
const results: TrialResult[] = [];

beforeAll(async () => {
  rig = await powerCutRig({ root });
});
afterAll(async () => {
  if (rig?.machine.running) await rig.machine.powerCut();
  if (rig !== undefined) await rm(rig.work, { recursive: true, force: true });
  const bricks = results.filter((r) => r.bootedVersion === undefined).length;
  process.stdout.write(
    `power cuts: ${results.length} trials, ${bricks} bricks\n${results.map((r) => `  ${r.cut}: ${r.from} → ${r.to}, booted ${r.bootedVersion ?? 'NOTHING'} (${r.seconds.toFixed(0)} s)`).join('\n')}\n`,
  );
});

describe('power cuts during an update', () => {
  const cuts: (keyof typeof STEP_MARKERS)[] = [
    'receiving, slot being written',
    'installed, BootNext set',
    'trial boot, before its health gate',
    'just committed',
  ];
  for (const marker of cuts) {
    test(`cut when ${marker}: the next boot reaches ready on one of the two builds`, async () => {
      const r = await powerCutTrial(rig, { marker });
      results.push(r);
      expect(r.cut).toBe(marker); // the boundary was reached, so the cut was where it says
      expect(rig.versions).toContain(r.bootedVersion);
    }, 900_000);
  }

  test('the update sent again converges to the newer build, committed', async () => {
    const c = await converge(rig);
    expect(c.committed, c.output).toBe(true);
    expect(c.version).toBe(rig.versions[1]);
  }, 900_000);
});
