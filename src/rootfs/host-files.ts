/**
 * Host files and folders copied into the device root (`files:` in the config, and kiln's own device sources),
 * read into cpio entries. Modes come from the host unless the config sets one; owners and times never do
 * (the archive is reproducible).
 */
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import type { CpioEntry } from '../formats/cpio/index.js';
import { KilnError } from '../util/errors.js';

export interface CopySpec {
  source: string;
  target: string;
  mode?: number;
  /** Skip host paths (relative to source) for which this returns false. */
  include?: (relative: string) => boolean;
  /** Named in errors, e.g. "files[2].source". */
  where: string;
}

export async function readHostTree(spec: CopySpec): Promise<CpioEntry[]> {
  let st;
  try {
    st = await lstat(spec.source);
  } catch {
    throw new KilnError('FILE_MISSING', `${spec.where}: ${spec.source} does not exist`, { hint: 'Paths in files[].source are relative to the config file.' });
  }
  if (!st.isDirectory()) return [await readOne(spec.source, spec.target, spec.mode)];
  const out: CpioEntry[] = [{ type: 'dir', path: spec.target, mode: spec.mode ?? st.mode & 0o7777 }];
  const names = (await readdir(spec.source, { recursive: true })).sort();
  for (const rel of names) {
    if (spec.include && !spec.include(rel)) continue;
    const entry = await readOne(path.join(spec.source, rel), path.posix.join(spec.target, rel.split(path.sep).join('/')), undefined);
    if (entry.type === 'dir' && spec.include) continue; // folders come with their included files
    out.push(entry);
  }
  return out;
}

async function readOne(source: string, target: string, mode: number | undefined): Promise<CpioEntry> {
  const st = await lstat(source);
  if (st.isSymbolicLink()) return { type: 'symlink', path: target, target: await readlink(source) };
  if (st.isDirectory()) return { type: 'dir', path: target, mode: mode ?? st.mode & 0o7777 };
  if (!st.isFile()) throw new KilnError('FILE_TYPE', `${source}: only files, folders and symlinks can be copied to the device`);
  return { type: 'file', path: target, mode: mode ?? st.mode & 0o7777, data: await readFile(source) };
}
