/**
 * GET /v1/update: what the device says about its firmware slots and the last update — read by `kiln update status`
 * and `kiln update` (waiting for the outcome), and shown by `kiln status`.
 */
export interface SlotStatus {
  name: 'A' | 'B';
  /** What the slot holds, as far as the device knows (the booted one for sure; the other from its last install). */
  version?: string;
  buildId?: string;
  booted: boolean;
  committed: boolean;
  /** Boot#### number of the slot's entry. */
  entry?: number;
}

export interface UpdateResult {
  outcome: 'committed' | 'rolled-back' | 'refused' | 'failed';
  version: string;
  buildId: string;
  reason?: string;
  /** ISO time on the device's clock. */
  at: string;
}

export interface UpdateStatus {
  /** False: updates are unavailable on this boot, `reason` says why (the device keeps running). */
  available: boolean;
  reason?: string;
  running: { version: string; buildId: string; slot?: 'A' | 'B' | 'fallback' };
  slots: SlotStatus[];
  /** An update in progress: receiving, installed (a reboot away), trying (the trial boot, health gate running). */
  pending?: { phase: 'receiving' | 'installed' | 'trying'; version: string; buildId: string; slot: 'A' | 'B'; bytes?: number; size?: number };
  last?: UpdateResult;
  /** Build ids that failed their trial: not installed again unless asked (`force`). */
  failed: string[];
}
