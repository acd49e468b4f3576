/** bench/power-cut.mjs's body (see there): random power cuts with the harness in power-cut.ts. Measures; asserts nothing. */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { converge, powerCutRig, powerCutTrial, STEP_MARKERS, type CutAt, type TrialResult } from './power-cut.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : process.argv[i + 1]!;
};
const trials = Number(arg('--trials', '100'));
const maxMs = Number(arg('--max-seconds', '120')) * 1000;
const bootIndex = process.argv.includes('--bootindex');
const root = path.resolve(import.meta.dirname, '../..');

const rig = await powerCutRig({ root, bootIndex });
const results: TrialResult[] = [];
const started = Date.now();
try {
  // Every step boundary once, then random moments.
  const cuts: CutAt[] = [
    ...(Object.keys(STEP_MARKERS) as (keyof typeof STEP_MARKERS)[]).map((marker) => ({ marker })),
    ...Array.from({ length: Math.max(0, trials - Object.keys(STEP_MARKERS).length) }, () => ({ afterMs: Math.round(Math.random() * maxMs) })),
  ];
  for (const [i, cut] of cuts.entries()) {
    const r = await powerCutTrial(rig, cut);
    results.push(r);
    console.log(`trial ${i + 1}/${cuts.length}: cut ${r.cut}: ${r.from} → ${r.to}, booted ${r.bootedVersion ?? 'NOTHING (brick)'} (${r.seconds.toFixed(0)} s)`);
  }
  const c = await converge(rig);
  const bricks = results.filter((r) => r.bootedVersion === undefined).length;
  const landed = (v: string) => results.filter((r) => r.bootedVersion === v).length;
  console.log(
    `\npower cuts${bootIndex ? ' (QEMU bootindex)' : ''}: ${results.length} trials, ${bricks} bricks; ` +
      `booted the build it ran before: ${results.filter((r) => r.bootedVersion === r.from).length}, the new one: ${results.filter((r) => r.bootedVersion === r.to).length} ` +
      `(${rig.versions[0]}: ${landed(rig.versions[0])}, ${rig.versions[1]}: ${landed(rig.versions[1])}); ` +
      `converged to ${rig.versions[1]} committed afterwards: ${c.committed ? 'yes' : `NO (${c.output.trim()})`}; ${((Date.now() - started) / 60000).toFixed(0)} min`,
  );
} finally {
  if (rig.machine.running) await rig.machine.powerCut();
  await rm(rig.work, { recursive: true, force: true });
}
