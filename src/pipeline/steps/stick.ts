/**
 * Build step (layout: source): the stick's files in the output folder, which is laid out as the stick's root (the
 * ESP). Each architecture replaces its own linux_<arch>/ whole and stages its part of the shared src/; once every
 * architecture of the run is built, the staged src/ replaces the old one — never a src/ kiln did not write.
 */
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SHARED_DIR } from '../../rootfs/source-root.js';
import { KilnError } from '../../util/errors.js';

export interface StickFiles {
  /** The folder holding them: the output folder, laid out as the stick's root (the ESP). */
  dir: string;
  /** Paths relative to `dir`: linux_<arch>/bin/node, linux_<arch>/lib/*, src/kiln/**, src/<program>/**. */
  files: string[];
  bytes: number;
  /** The filesystem label the first stage looks for. */
  label: string;
}

/** Where the shared src/ is staged until every architecture of the run is built (then publishSharedSource). */
export const SHARED_STAGING = `.${SHARED_DIR}.new`;

/**
 * Writes this architecture's stick files into the output folder: its own linux_<arch>/ replaced whole, and its
 * files of the shared src/ into the staging folder, which ends as the union over the run's architectures.
 */
export async function writeStick(outDir: string, files: readonly { path: string; data: Uint8Array }[], own: string, label: string): Promise<StickFiles> {
  const fresh = path.join(outDir, `.${own}.new`);
  await rm(fresh, { recursive: true, force: true });
  for (const f of files) {
    const inOwn = f.path.startsWith(`${own}/`);
    const target = inOwn ? path.join(fresh, f.path.slice(own.length + 1)) : path.join(outDir, SHARED_STAGING, f.path.slice(SHARED_DIR.length + 1));
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, f.data);
  }
  await rm(path.join(outDir, own), { recursive: true, force: true });
  await rename(fresh, path.join(outDir, own));
  return { dir: outDir, files: files.map((f) => f.path), bytes: files.reduce((n, f) => n + f.data.length, 0), label };
}

/** The output folder's src/ may be replaced only when it is a stick tree kiln wrote (never a user's own src/). */
export async function checkSharedSource(outDir: string): Promise<void> {
  const shared = path.join(outDir, SHARED_DIR);
  const entries = await readdir(shared).catch(() => undefined);
  if (entries !== undefined && !entries.includes('kiln')) {
    throw new KilnError('BUILD_OUT_DIR', `${shared} exists and is not a stick tree kiln wrote (no src/kiln): layout: source writes its shared src/ there`, {
      hint: 'Build into another folder: --out out',
    });
  }
}

/** The staged shared src/ replaces the output folder's. */
export async function publishSharedSource(outDir: string): Promise<void> {
  await checkSharedSource(outDir);
  await rm(path.join(outDir, SHARED_DIR), { recursive: true, force: true });
  await rename(path.join(outDir, SHARED_STAGING), path.join(outDir, SHARED_DIR));
}

/** Before the first architecture of a run: the old src/ must be kiln's, and no staging is left from a failed run. */
export async function startSharedSource(outDir: string): Promise<void> {
  await checkSharedSource(outDir);
  await rm(path.join(outDir, SHARED_STAGING), { recursive: true, force: true });
}
