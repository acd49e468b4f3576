/**
 * `fsck: true`: check a filesystem before it is mounted, with the checker the image carries (kiln's build ships
 * Debian's e2fsck or fsck.fat in the `tools` layer when a partition of that filesystem asks for a check, see
 * src/inputs/tools.ts). e2fsck's and fsck.fat's exit codes say whether the filesystem may be mounted.
 */
import type { Partition } from '../contract/config/storage-schema.ts';
import type { StorageIo } from './io.ts';
import { errorMessage } from '../contract/error-message.ts';

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

/** How many of the checker's repair lines the console gets (a badly damaged filesystem can print thousands). */
const MAX_REPAIR_LINES = 4;

export type FsckOutcome = { kind: 'unavailable'; note: string } | { kind: 'ok'; note: string } | { kind: 'failed'; note: string };

/** Runs the checker for `partition` on `device`; never throws (a checker that cannot start is a failure). */
export async function checkFilesystem(io: StorageIo, partition: Partition, device: string): Promise<FsckOutcome> {
  const checker = CHECKERS[partition.filesystem];
  const program = io.findProgram(checker.paths);
  if (program === undefined) {
    // Only an image built without it (an older kiln, or files: replacing it) gets here.
    return { kind: 'unavailable', note: `fsck: true, but this image has no ${checker.name} (looked in ${checker.paths.join(', ')}); mounting unchecked` };
  }
  try {
    const { code, output } = await io.runProgram(program, [...checker.args, device]);
    const lines = output
      .split('\n')
      .map((l) => l.trim().replace(/\s+/g, ' '))
      .filter((l) => l !== '');
    const last = lines.at(-1) ?? '';
    if (checker.mountable(code)) {
      if (code === 0) return { kind: 'ok', note: `${checker.name}: clean` };
      // What was repaired, without the checker's closing summary: the operator should learn the disk needed it.
      const repaired = lines.slice(0, -1);
      const shown = repaired.slice(0, MAX_REPAIR_LINES).map((l) => l.replace(/\.$/, ''));
      const more = repaired.length > shown.length ? `; … ${repaired.length - shown.length} more` : '';
      return { kind: 'ok', note: `${checker.name}: errors corrected (exit ${code})${shown.length === 0 ? '' : `: ${shown.join('; ')}${more}`}` };
    }
    return { kind: 'failed', note: `${checker.name} left errors uncorrected (exit ${code})${last === '' ? '' : `: ${last}`}` };
  } catch (error) {
    return { kind: 'failed', note: `${checker.name} could not run: ${errorMessage(error)}` };
  }
}
