/** Build step: the build id, a hash of everything the image is made from (same inputs, same id). */
import type { Config, Profile } from '../../config/schema.js';
import { sha256 } from '../../inputs/cache.js';
import { KILN_VERSION } from '../../version.js';

export interface BuildIdInputs {
  config: Config;
  profile: Profile;
  /** SOURCE_DATE_EPOCH of the build. */
  mtime: number;
  /** sha256 of every resolved input, in a stable order. */
  inputHashes: readonly string[];
  /** The programs' content hash (src/programs/prepare.ts). */
  programs: string;
  /**
   * The content hash of what the kiln layer copies from the host (rootfs/layers.ts kilnSourcesHash): kiln's device
   * code and the config's files. Without it a changed file, or kiln's own code changed under one version number,
   * gave the same build id — and a device refuses to install the build it runs.
   */
  sources: string;
}

export function buildIdOf(i: BuildIdInputs): string {
  // The Secure Boot signature wraps the image; where its key lives is not what the image is made of (and the build
  // id is inside the image, under the signature): signed or not, one build id.
  const config = { ...i.config, signing: undefined };
  return sha256(
    JSON.stringify({ kiln: KILN_VERSION, config, profile: i.profile, mtime: i.mtime, inputs: i.inputHashes, programs: i.programs, sources: i.sources }),
  ).slice(0, 16);
}
