/**
 * Build step: the config's `files`, resolved against the config's folder, each refused when it would replace a file
 * of kiln itself (the init, its sources, /etc/kiln) or a program's command or sources.
 */
import path from 'node:path';
import type { ResolvedConfig } from '../../config/resolve.js';
import { programPathOwner } from '../../programs/prepare.js';
import { DEVICE_PREFIX } from '../../rootfs/layers.js';
import { KilnError } from '../../util/errors.js';

export interface FileToCopy {
  /** Absolute host path. */
  source: string;
  target: string;
  mode?: number;
  /** `kiln.yml: files[2]`, for messages. */
  where: string;
}

export function fileTargets(resolved: ResolvedConfig): FileToCopy[] {
  const { config, dir, displayName } = resolved;
  return config.files.map((f, i) => {
    const file: FileToCopy = { source: path.resolve(dir, f.source), target: f.target, mode: f.mode, where: `${displayName}: files[${i}]` };
    if (f.target === '/init' || f.target.startsWith(`${DEVICE_PREFIX}/`) || f.target.startsWith('/etc/kiln/')) {
      throw new KilnError('CONFIG_INVALID', `${file.where}.target: ${f.target} would replace a file of kiln itself`, { hint: 'Choose another target path.' });
    }
    const owner = programPathOwner(f.target, config.programs);
    if (owner !== undefined)
      throw new KilnError('CONFIG_INVALID', `${file.where}.target: ${f.target} would replace ${owner}`, { hint: 'Choose another target path.' });
    return file;
  });
}
