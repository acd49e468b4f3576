/**
 * `runImage`: boot a UEFI executable in QEMU. Finds QEMU and the firmware (or says which package to install),
 * prepares everything in a private temp dir — boot disk, VARS copy, QMP socket — chooses the accelerator, hands the
 * process to supervise.ts, and removes the temp dir however the run ends.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { KilnError } from '../util/errors.js';
import { archSpec } from './arch.js';
import { resolveAccel } from './accel.js';
import { writeBootDisk } from './esp.js';
import { exitCodeFor } from './exit-codes.js';
import { findFirmware, keptFirmware, prepareFirmware } from './firmware.js';
import { resolveRunOptions, type RunOptions, type RunResult } from './options.js';
import { buildQemuArgs } from './qemu-args.js';
import { findQemu } from './qemu-binary.js';
import { secureBootFirmware } from './secure-boot.js';
import { superviseQemu } from './supervise.js';

/** sun_path holds 108 bytes with the terminating NUL. */
const MAX_SOCKET_PATH = 107;

/**
 * Boots `options.efi` (or `options.disk`) and resolves when QEMU has exited and the temp files are gone. Rejects only when the run cannot
 * start (KilnError: QEMU or firmware missing, unreadable image, bad option); every way a started run ends is an
 * outcome with its exit code (exit-codes.ts).
 *
 * @example
 * const { outcome, exitCode } = await runImage(
 *   { efi: 'out/BOOTX64.EFI', expect: /kiln: ready/, timeout: 120, stdout: process.stdout, stderr: process.stderr },
 *   abortController.signal,
 * );
 */
export async function runImage(options: RunOptions, signal?: AbortSignal): Promise<RunResult> {
  const resolved = resolveRunOptions(options);
  const spec = archSpec(resolved.arch);
  const qemu = await findQemu(spec);
  const firmwareTemplate = await findFirmware(spec);
  // The KVM probe starts the plain firmware; the guest boots the Secure Boot one when asked.
  const bootTemplate = resolved.secureBoot === undefined ? firmwareTemplate : await secureBootFirmware(spec, resolved.secureBoot);

  const tmpDir = await mkdtemp(path.join(os.tmpdir(), 'kiln-run-'));
  try {
    const qmpSocket = path.join(tmpDir, 'qmp.sock');
    if (Buffer.byteLength(qmpSocket) > MAX_SOCKET_PATH) {
      throw new KilnError('RUN_TMPDIR_TOO_LONG', `The temp dir path is too long for QEMU's control socket: ${qmpSocket}`, {
        hint: 'Set TMPDIR to a shorter path, e.g. TMPDIR=/tmp.',
      });
    }
    // A whole disk boots from its own ESP; an EFI gets a throwaway ESP disk of its own.
    const espDisk = resolved.disk ?? path.join(tmpDir, 'esp.img');
    if (resolved.efi !== undefined) await writeBootDisk(resolved.efi, spec, espDisk);
    const accel = await resolveAccel(resolved.accel, { spec, qemu, firmware: firmwareTemplate, tmpDir, notes: resolved.stderr });
    const firmware = resolved.keepVars === undefined ? await prepareFirmware(bootTemplate, tmpDir) : await keptFirmware(bootTemplate, resolved.keepVars);
    if (signal?.aborted) {
      return { outcome: 'stopped', exitCode: exitCodeFor('stopped', { expecting: false, stoppedCleanly: true }), consoleTail: '' };
    }
    const args = buildQemuArgs({
      spec,
      memory: resolved.memory,
      cpus: resolved.cpus,
      accel,
      tcgThreads: resolved.tcgThreads,
      firmware,
      espDisk,
      extraDrives: resolved.extraDrives,
      qmpSocket,
      network: resolved.network ? { forwards: resolved.forwards } : undefined,
      watchdog: true,
      reboot: resolved.reboot,
      bootIndex: resolved.bootIndex,
      secureBoot: resolved.secureBoot !== undefined,
    });
    return await superviseQemu({ qemu, args, qmpSocket, options: resolved, signal });
  } finally {
    await rm(tmpDir, { recursive: true, force: true });
  }
}
