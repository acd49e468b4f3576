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
}

export function buildIdOf(i: BuildIdInputs): string {
  // The Secure Boot signature wraps the image; where its key lives is not what the image is made of (and the build
  // id is inside the image, under the signature): signed or not, one build id.
  const config = { ...i.config, signing: undefined };
  return sha256(JSON.stringify({ kiln: KILN_VERSION, config, profile: i.profile, mtime: i.mtime, inputs: i.inputHashes, programs: i.programs })).slice(0, 16);
}
