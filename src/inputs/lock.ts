/**
 * `kiln.lock`: every input pinned by name, version and sha256, beside the config. JSON so that scripts and
 * reviewers can read diffs; keys sorted so the file is stable. Entries are keyed "<arch>/<role>".
 */
import { readFile, writeFile, rename } from 'node:fs/promises';
import { KilnError } from '../util/errors.js';
import { tempBeside } from './cache.js';

export interface DebLockEntry {
  type: 'deb';
  /** What the config asked for (e.g. the metapackage `linux-image-rt-amd64`). */
  request: string;
  name: string;
  version: string;
  arch: string;
  sha256: string;
}

export interface NpmLockEntry {
  type: 'npm';
  request: string;
  name: string;
  version: string;
  sha256: string;
}

/**
 * A program's npm dependency tree (src/programs), keyed "programs/<name>": not one download but pinned the same
 * way, so kiln.lock is the one record of everything a build takes from outside.
 */
export interface ProgramLockEntry {
  type: 'program';
  /** The dependencies package.json asks for (canonical JSON): when they change, the tree is resolved again. */
  request: string;
  /** The program's name in the config. */
  name: string;
  /** The program's package.json version. */
  version: string;
  /** sha256 of `packages` as canonical JSON: the cache key of the installed node_modules. */
  sha256: string;
  /** npm lockfile "packages" (install path → version, resolved, integrity), without the root and dev-only packages. */
  packages: Record<string, { version?: string; resolved?: string; integrity?: string; [field: string]: unknown }>;
}

/** A container's image (src/container-images), keyed "<arch>/container/<name>": pinned by its manifest digest. */
export interface ImageLockEntry {
  type: 'image';
  /** The image reference in the config: when it changes, the image is resolved again. */
  request: string;
  /** The container's name. */
  name: string;
  /** The tag the reference named, or "digest". */
  version: string;
  /** Hex of the architecture's manifest digest (sha256). */
  sha256: string;
}

export type LockEntry = DebLockEntry | NpmLockEntry | ProgramLockEntry | ImageLockEntry;

export interface LockFile {
  lockfileVersion: 1;
  inputs: Record<string, LockEntry>;
}

export const LOCK_NAME = 'kiln.lock';

export function emptyLock(): LockFile {
  return { lockfileVersion: 1, inputs: {} };
}

export async function readLock(file: string): Promise<LockFile | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new KilnError('LOCK_INVALID', `${file}: not valid JSON (${(err as Error).message})`, {
      hint: 'Restore it from version control, or delete it and run `kiln lock --update`.',
    });
  }
  const lock = data as Partial<LockFile>;
  if (lock.lockfileVersion !== 1 || typeof lock.inputs !== 'object' || lock.inputs === null) {
    throw new KilnError('LOCK_INVALID', `${file}: expected {"lockfileVersion": 1, "inputs": {...}}`, {
      hint: 'Delete it and run `kiln lock --update` to pin the inputs again.',
    });
  }
  for (const [key, e] of Object.entries(lock.inputs)) {
    if (!e || typeof e.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(e.sha256) || typeof e.name !== 'string' || typeof e.version !== 'string') {
      throw new KilnError('LOCK_INVALID', `${file}: inputs["${key}"]: expected name, version and a sha256 of 64 hex digits`);
    }
  }
  return lock as LockFile;
}

export function encodeLock(lock: LockFile): string {
  const inputs: Record<string, LockEntry> = {};
  for (const key of Object.keys(lock.inputs).sort()) inputs[key] = lock.inputs[key]!;
  return `${JSON.stringify({ lockfileVersion: 1, inputs }, null, 2)}\n`;
}

export async function writeLock(file: string, lock: LockFile): Promise<void> {
  const tmp = tempBeside(file);
  await writeFile(tmp, encodeLock(lock));
  await rename(tmp, file);
}
