/**
 * `fsck: true`: check a filesystem before it is mounted, with the checker the image carries. e2fsck's and
 * fsck.fat's exit codes say whether the filesystem may be mounted.
 */
import type { Partition } from '../config/storage-schema.ts';
import type { StorageIo } from './io.ts';

interface Checker {
  name: string;
  paths: readonly string[];
  /** Repair what is safe to repair without asking (there is nobody to ask). */
  args: readonly string[];
  /** Exit codes after which the filesystem is fine to mount. */
  mountable: (code: number) => boolean;
}

const CHECKERS: Record<Partition['filesystem'], Checker> = {
  // e2fsck: 0 clean, 1 errors corrected, 2 corrected (reboot advised for a mounted root); 4+ left uncorrected.
  ext4: { name: 'e2fsck', paths: ['/usr/sbin/e2fsck', '/sbin/e2fsck'], args: ['-p'], mountable: (code) => code <= 2 },
  // fsck.fat: 0 clean, 1 errors found (and, with -a, corrected).
  vfat: { name: 'fsck.fat', paths: ['/usr/sbin/fsck.fat', '/sbin/fsck.fat'], args: ['-a'], mountable: (code) => code <= 1 },
};

export type FsckOutcome =
  | { kind: 'unavailable'; note: string }
  | { kind: 'ok'; note: string }
  | { kind: 'failed'; note: string };

/** Runs the checker for `partition` on `device`; never throws (a checker that cannot start is a failure). */
export async function checkFilesystem(io: StorageIo, partition: Partition, device: string): Promise<FsckOutcome> {
  const checker = CHECKERS[partition.filesystem];
  const program = io.findProgram(checker.paths);
  if (program === undefined) {
    return { kind: 'unavailable', note: `fsck: true, but this image has no ${checker.name} (kiln does not ship one yet); mounting unchecked` };
  }
  try {
    const { code, output } = await io.runProgram(program, [...checker.args, device]);
    const last = output.trim().split('\n').pop() ?? '';
    if (checker.mountable(code)) return { kind: 'ok', note: `${checker.name}: ${code === 0 ? 'clean' : `errors corrected (exit ${code})`}` };
    return { kind: 'failed', note: `${checker.name} left errors uncorrected (exit ${code})${last === '' ? '' : `: ${last}`}` };
  } catch (error) {
    return { kind: 'failed', note: `${checker.name} could not run: ${error instanceof Error ? error.message : String(error)}` };
  }
}
