/**
 * Finding the QEMU system emulator for an architecture, and asking it its version (part of the accel cache key:
 * whether KVM works can change with the QEMU build).
 */
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import { KilnError } from '../util/errors.js';
import { aptInstallHint, type ArchSpec } from './arch.js';

/** Absolute path of `spec.qemuBinary` on PATH; a KilnError naming the Debian package when it is missing. */
export async function findQemu(spec: ArchSpec, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, spec.qemuBinary);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new KilnError('QEMU_MISSING', `${spec.qemuBinary} is not installed (needed by kiln run for ${spec.arch})`, {
    hint: aptInstallHint(spec.qemuPackage),
  });
}

/** QEMU's first `--version` line, e.g. "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)". */
export function qemuVersion(qemu: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(qemu, ['--version'], { timeout: 10_000 }, (err, stdout) => {
      if (err) {
        reject(new KilnError('QEMU_FAILED', `${qemu} --version failed: ${err.message}`));
        return;
      }
      resolve(stdout.split('\n')[0]!.trim());
    });
  });
}
