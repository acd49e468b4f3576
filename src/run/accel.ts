/**
 * Choosing QEMU's accelerator. `tcg` and `kvm` are taken at their word; `auto` uses KVM only where it can work
 * (same host and guest architecture, /dev/kvm usable) and has been seen to work: a real probe, run once per
 * QEMU version and kernel release, its verdict cached (accel-cache.ts). Otherwise TCG with `-cpu max`.
 */
import { access, constants } from 'node:fs/promises';
import os from 'node:os';
import { KilnError } from '../util/errors.js';
import type { ArchSpec, FirmwarePair } from './arch.js';
import { accelCacheFile, accelCacheKey, readAccelVerdict, writeAccelVerdict, type AccelVerdict } from './accel-cache.js';
import { KVM_CHOICE, probeKvm, TCG_CHOICE, type ProbeResult } from './accel-probe.js';
import type { AccelMode } from './options.js';
import { qemuVersion } from './qemu-binary.js';

export const KVM_DEVICE = '/dev/kvm';

export interface AccelContext {
  spec: ArchSpec;
  qemu: string;
  firmware: FirmwarePair;
  tmpDir: string;
  /** Where notes about probing go (the run's stderr). */
  notes: NodeJS.WritableStream;
  env?: NodeJS.ProcessEnv;
  hostArch?: NodeJS.Architecture;
  kernelRelease?: string;
  /** Replaceable for tests. */
  probe?: (context: { qemu: string; spec: ArchSpec; firmware: FirmwarePair; tmpDir: string }) => Promise<ProbeResult>;
  kvmDevice?: string;
}

async function usable(device: string): Promise<boolean> {
  try {
    await access(device, constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

export async function resolveAccel(mode: AccelMode, context: AccelContext): Promise<AccelVerdict> {
  if (mode === 'tcg') return { ...TCG_CHOICE, reason: 'asked for (--accel tcg)' };
  const { spec } = context;
  const device = context.kvmDevice ?? KVM_DEVICE;
  const hostArch = context.hostArch ?? process.arch;
  const impossible =
    hostArch !== spec.kvmHostArch
      ? `a ${spec.arch} guest cannot use KVM on a ${hostArch} host`
      : !(await usable(device))
        ? `${device} is missing or not readable and writable by this user`
        : undefined;

  if (mode === 'kvm') {
    if (impossible) throw new KilnError('KVM_UNAVAILABLE', `--accel kvm: ${impossible}`, { hint: 'Use --accel auto or --accel tcg.' });
    return { ...KVM_CHOICE, reason: 'asked for (--accel kvm)' };
  }
  if (impossible) return { ...TCG_CHOICE, reason: impossible };

  const file = accelCacheFile(context.env);
  const key = accelCacheKey({
    arch: spec.arch,
    qemuVersion: await qemuVersion(context.qemu),
    kernelRelease: context.kernelRelease ?? os.release(),
  });
  const cached = await readAccelVerdict(file, key);
  if (cached) return cached;

  context.notes.write('kiln: checking whether KVM works on this host (once per QEMU and kernel version)…\n');
  const probe = context.probe ?? probeKvm;
  const result = await probe({ qemu: context.qemu, spec, firmware: context.firmware, tmpDir: context.tmpDir });
  const verdict: AccelVerdict = result.ok ? { ...KVM_CHOICE, reason: result.reason } : { ...TCG_CHOICE, reason: `KVM failed: ${result.reason}` };
  context.notes.write(
    result.ok
      ? 'kiln: KVM works; using it.\n'
      : `kiln: KVM does not work here (${result.reason}); using TCG software emulation (-cpu max). Remembered in ${file}\n`,
  );
  await writeAccelVerdict(file, key, verdict);
  return verdict;
}
