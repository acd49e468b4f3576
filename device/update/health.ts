/**
 * The health gate of a trial boot: after the ready line, the required containers (every container unless the config
 * lists some) must be running — and healthy, where they have a healthcheck — at every check for `seconds` in a row.
 * A failure restarts the count; if the gate has not passed within twice `seconds` plus a minute (time for images to
 * start and healthchecks to settle), the trial fails with the reason of the last failed check.
 */
import type { Log } from '../base/log.ts';

export interface HealthView {
  containers(): { name: string; state: string; health?: { state: string; last?: string } }[];
}

export interface GateOptions {
  seconds: number;
  required?: readonly string[];
  sleep(ms: number): Promise<void>;
  now(): number;
  log: Pick<Log, 'info'>;
  /** Between checks. @default 1000 */
  intervalMs?: number;
}

/** Why the containers are not healthy now, or undefined when they are. Pure. */
export function healthProblem(view: HealthView, required: readonly string[] | undefined): string | undefined {
  const containers = view.containers();
  const names = required ?? containers.map((c) => c.name);
  for (const name of names) {
    const c = containers.find((x) => x.name === name);
    if (c === undefined) return `required container ${name} does not exist in this firmware`;
    if (c.state !== 'running') return `container ${name} is ${c.state}`;
    if (c.health !== undefined && c.health.state !== 'healthy')
      return `container ${name} is ${c.health.state}${c.health.last === undefined ? '' : ` (${c.health.last})`}`;
  }
  return undefined;
}

/** Resolves undefined when the gate passes, or the reason it failed. */
export async function runHealthGate(view: HealthView, o: GateOptions): Promise<string | undefined> {
  const interval = o.intervalMs ?? 1000;
  const started = o.now();
  const deadline = started + (2 * o.seconds + 60) * 1000;
  let healthySince: number | undefined;
  let last: string | undefined;
  o.log.info(`update: health gate: ${o.required === undefined ? 'every container' : o.required.join(', ') || 'no container'} must stay up for ${o.seconds} s`);
  for (;;) {
    const now = o.now();
    last = healthProblem(view, o.required);
    if (last === undefined) {
      healthySince ??= now;
      if (now - healthySince >= o.seconds * 1000) return undefined;
    } else healthySince = undefined;
    if (now >= deadline) return `${last ?? 'not healthy long enough'} after ${Math.round((now - started) / 1000)} s`;
    await o.sleep(interval);
  }
}
