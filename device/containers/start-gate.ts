/**
 * dependsOn with readiness: a container whose dependency has a healthcheck waits until that one is healthy before
 * its first start; a dependency without a healthcheck is ready once it is started (the crun start queue keeps the
 * order). Waiting is transitive: a container waits while any dependency still waits. Pure: states come in through
 * `health`, starts go out through `start`.
 */

export interface GateContainer {
  name: string;
  dependsOn: readonly string[];
}

export interface StartGate {
  /** Not started yet: a dependency is not ready. */
  waiting(name: string): boolean;
  /** Starts every waiting container whose dependencies are now ready (call on every health change). */
  check(): void;
  /** Started by hand (the API): it no longer waits. */
  release(name: string): void;
}

export function createStartGate(
  containers: readonly GateContainer[],
  deps: {
    /** Its health state, or undefined when it has no healthcheck. */
    health(name: string): string | undefined;
    start(name: string): void;
    log(message: string): void;
  },
): StartGate {
  const waiting = new Set<string>();
  const hasCheck = (name: string) => deps.health(name) !== undefined;
  for (const c of containers) {
    const waitsFor = c.dependsOn.filter((d) => hasCheck(d) || waiting.has(d));
    if (waitsFor.length === 0) continue;
    waiting.add(c.name);
    deps.log(`container ${c.name}: waits for ${waitsFor.join(', ')} to be ${waitsFor.some(hasCheck) ? 'healthy' : 'started'}`);
  }
  const ready = (name: string) => !waiting.has(name) && (deps.health(name) ?? 'healthy') === 'healthy';
  const byName = new Map(containers.map((c) => [c.name, c]));
  return {
    waiting: (name) => waiting.has(name),
    release: (name) => void waiting.delete(name),
    check() {
      // In config order, so a chain a → b → c can all go in one pass.
      for (const name of [...waiting]) {
        const dependsOn = byName.get(name)!.dependsOn;
        if (!dependsOn.every(ready)) continue;
        waiting.delete(name);
        deps.log(`container ${name}: starting now that ${dependsOn.join(', ')} ${dependsOn.length === 1 ? 'is' : 'are'} ready`);
        deps.start(name);
      }
    },
  };
}
