/**
 * The update state on DATA (`<stateDir>/state.json`): which slot is committed, the update in flight, the builds that
 * failed their trial, and the last outcome. Replaced whole with temp + fsync + rename, so a power cut leaves the old
 * state or the new one. A state file that cannot be read is set aside (renamed) and the device starts over from
 * what the firmware booted: losing the history must never stop the firmware.
 */
import type { DataFs } from '../sys/data-fs.ts';
import type { UpdateResult } from '../contract/update/status.ts';
import type { SlotName } from './slots.ts';

export interface PendingUpdate {
  slot: SlotName;
  version: string;
  buildId: string;
  /** The payload's SHA-256, as signed. */
  sha256: string;
  /** The UKI's SHA-256: the payload's for a bare EFI; with a slot's tree (layout: source), its UKI's. */
  efiSha256?: string;
  size: number;
  /** installed: written and BootNext set; trying: the trial boot got as far as the update stage. */
  phase: 'installed' | 'trying';
}

export interface UpdateState {
  committed?: { slot: SlotName; version: string; buildId: string };
  /** What each slot was last written with (the other slot's content is otherwise unknown). */
  contents: Partial<Record<SlotName, { version: string; buildId: string }>>;
  pending?: PendingUpdate;
  failed: string[];
  last?: UpdateResult;
  /** The build the ESP's fallback loader was last made from (after a commit); a boot repairs a fallback that lags. */
  fallback?: string;
}

export const EMPTY_STATE: UpdateState = { contents: {}, failed: [] };

export function stateFile(stateDir: string): string {
  return `${stateDir}/state.json`;
}

export function loadState(data: DataFs, stateDir: string, warn: (line: string) => void): UpdateState {
  const file = stateFile(stateDir);
  let text: string;
  try {
    text = data.readText(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { ...EMPTY_STATE, contents: {}, failed: [] };
    throw error;
  }
  try {
    const raw = JSON.parse(text) as UpdateState;
    if (typeof raw !== 'object' || raw === null || !Array.isArray(raw.failed)) throw new TypeError('not an update state');
    return { contents: raw.contents ?? {}, failed: raw.failed, committed: raw.committed, pending: raw.pending, last: raw.last, fallback: raw.fallback };
  } catch (error) {
    const aside = `${file}.unreadable`;
    data.rename(file, aside);
    warn(`${file} was unreadable (${error instanceof Error ? error.message : String(error)}); kept as ${aside}, starting over from the booted slot`);
    return { ...EMPTY_STATE, contents: {}, failed: [] };
  }
}

export function saveState(data: DataFs, stateDir: string, state: UpdateState): void {
  data.replaceFile(stateFile(stateDir), `${JSON.stringify(state, null, 2)}\n`);
}

export type BootedFrom = SlotName | 'fallback';

export interface BootDecision {
  state: UpdateState;
  /** This boot is the trial of `state.pending`: run the health gate after ready. */
  trial: boolean;
  /** One line for the log about what this boot means for updates, if anything. */
  note?: string;
}

/**
 * What this boot means, from the state as the last boot left it and the slot the firmware booted: the trial of the
 * pending update, or its failure (the firmware fell back to BootOrder: a crash, a hang reset by the watchdog, or a
 * failed health gate), or an ordinary boot. Pure.
 */
export function decideBoot(before: UpdateState, booted: BootedFrom, build: { version: string; buildId: string }, at: string): BootDecision {
  const running = { version: build.version, buildId: build.buildId };
  const state: UpdateState = { ...before, contents: { ...before.contents }, failed: [...before.failed] };
  // What the ESP's fallback holds is known for certain only when it is what runs.
  if (booted === 'fallback') state.fallback = running.buildId;
  if (booted !== 'fallback') state.contents[booted] = { ...running };
  else if (state.committed === undefined && state.pending === undefined) {
    // The first boot of a disk kiln wrote: no boot entries yet, so the firmware booted the ESP's fallback, which holds
    // the same build as slot A.
    state.contents.A = { ...running };
    state.committed = { slot: 'A', ...running };
    return { state, trial: false, note: 'first boot (from the ESP fallback): slot A, which holds this build, is committed' };
  }
  const pending = state.pending;
  if (pending !== undefined && booted === pending.slot && running.buildId === pending.buildId) {
    state.pending = { ...pending, phase: 'trying' };
    return { state, trial: true, note: `trial boot of ${pending.version} (build ${pending.buildId}) from slot ${pending.slot}: health gate after ready` };
  }
  if (pending !== undefined) {
    const reason =
      pending.phase === 'installed'
        ? `the firmware did not start build ${pending.buildId} from slot ${pending.slot} as far as its update stage (a failed firmware load, kernel panic or early init crash), so it fell back`
        : `build ${pending.buildId} crashed, hung (watchdog) or rebooted during its trial boot before its health gate passed`;
    state.pending = undefined;
    if (!state.failed.includes(pending.buildId)) state.failed.push(pending.buildId);
    state.last = { outcome: 'rolled-back', version: pending.version, buildId: pending.buildId, reason, at };
    if (booted !== 'fallback' && state.committed === undefined) state.committed = { slot: booted, ...running };
    return { state, trial: false, note: `update to ${pending.version} rolled back: ${reason}` };
  }
  if (booted !== 'fallback' && (state.committed === undefined || state.committed.slot !== booted || state.committed.buildId !== running.buildId)) {
    const note =
      state.committed === undefined
        ? `slot ${booted} committed (first boot with updates)`
        : `booted slot ${booted}, not the committed slot ${state.committed.slot}: slot ${booted} is committed now`;
    state.committed = { slot: booted, ...running };
    return { state, trial: false, note };
  }
  return { state, trial: false };
}
