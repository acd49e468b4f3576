/**
 * Does KVM work here? `/dev/kvm` existing proves nothing: on some hosts (nested or restricted hypervisors) QEMU
 * aborts with "failed to set MSR" under `-cpu host`, or stops with "KVM internal error" once the guest runs. The
 * only honest test is to try: start the real firmware under KVM for a few seconds and see whether it gets as far as
 * its boot manager, which prints "BdsDxe: ..." on the serial console.
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { ArchSpec, FirmwarePair } from './arch.js';
import { prepareFirmware } from './firmware.js';
import { buildQemuArgs, type AccelChoice } from './qemu-args.js';

export const KVM_CHOICE: AccelChoice = { accel: 'kvm', cpu: 'host' };
export const TCG_CHOICE: AccelChoice = { accel: 'tcg', cpu: 'max' };

/** Printed by the firmware's boot manager (BdsDxe), after CPU, memory and device setup have all run. */
export const FIRMWARE_ALIVE = 'BdsDxe';
const KVM_FAILURES = [/KVM internal error/, /failed to set MSR/i, /kvm.*(?:failed|error)/i, /Could not access KVM/i];

export interface ProbeObservation {
  stdout: string;
  stderr: string;
  /** QEMU exited by itself during the probe. */
  exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  timedOut: boolean;
}

export interface ProbeResult {
  ok: boolean;
  reason: string;
}

/** Pure: the verdict from what the probe saw. `undefined` = not decided yet, keep watching. */
export function judgeProbe(seen: ProbeObservation): ProbeResult | undefined {
  const complaint = seen.stderr
    .split('\n')
    .map((line) => line.replace(/^qemu-system-\w+:\s*/, '').trim())
    .find((line) => KVM_FAILURES.some((re) => re.test(line)));
  if (complaint) return { ok: false, reason: complaint };
  if (seen.stdout.includes(FIRMWARE_ALIVE)) return { ok: true, reason: 'KVM ran the firmware to its boot manager' };
  if (seen.exited) {
    const last = seen.stderr.trim().split('\n').pop()?.trim();
    return { ok: false, reason: last || `QEMU exited (code ${seen.exited.code ?? seen.exited.signal}) before the firmware printed anything` };
  }
  if (seen.timedOut) return { ok: false, reason: 'the firmware printed nothing under KVM' };
  return undefined;
}

export interface ProbeContext {
  qemu: string;
  spec: ArchSpec;
  firmware: FirmwarePair;
  /** Scratch directory for the probe's VARS copy. */
  tmpDir: string;
  timeoutMs?: number;
}

/** Starts the firmware under KVM and stops it as soon as the verdict is clear (a second or two when it works). */
export async function probeKvm(context: ProbeContext): Promise<ProbeResult> {
  const dir = path.join(context.tmpDir, 'kvm-probe');
  await mkdir(dir, { recursive: true });
  const firmware = await prepareFirmware(context.firmware, dir);
  const args = buildQemuArgs({ spec: context.spec, memory: '256M', cpus: 1, accel: KVM_CHOICE, firmware });
  const child = spawn(context.qemu, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const seen: ProbeObservation = { stdout: '', stderr: '', exited: undefined, timedOut: false };

  return new Promise<ProbeResult>((resolve) => {
    let verdict: ProbeResult | undefined;
    const timer = setTimeout(() => {
      seen.timedOut = true;
      decide();
    }, context.timeoutMs ?? 15_000);
    const decide = () => {
      verdict ??= judgeProbe(seen);
      if (verdict && seen.exited === undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    child.stdout.setEncoding('utf8').on('data', (d: string) => ((seen.stdout = (seen.stdout + d).slice(-8192)), decide()));
    child.stderr.setEncoding('utf8').on('data', (d: string) => ((seen.stderr = (seen.stderr + d).slice(-8192)), decide()));
    child.stdin.on('error', () => {});
    child.on('error', (err) => {
      seen.exited = { code: null, signal: null };
      seen.stderr += `\n${err.message}`;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (!verdict) {
        seen.exited = { code, signal };
        verdict = judgeProbe(seen);
      }
      resolve(verdict ?? { ok: false, reason: 'QEMU exited' });
    });
  });
}
