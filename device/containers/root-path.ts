/**
 * Paths inside a root folder that a layer cannot get out of. An archive name is normalised (no "..", absolute
 * made relative), then resolved one component at a time: a symlink met on the way is followed as if the root were
 * "/" (an absolute target restarts at the root, ".." stops at it), the way runtimes read the rootfs later, so a
 * layer's `lib -> /usr/lib` works and `x -> ../../..` cannot lead a write outside.
 */
import { lstat, readlink } from 'node:fs/promises';
import path from 'node:path';

/** Linux's own limit on symlinks followed in one lookup. */
const MAX_SYMLINKS = 40;

/** A path of the archive that is not allowed: it names where, and why. */
export class LayerPathError extends Error {
  readonly path: string;
  constructor(entryPath: string, why: string) {
    super(`Refusing layer path ${JSON.stringify(entryPath)}: ${why}`);
    this.name = 'LayerPathError';
    this.path = entryPath;
  }
}

/**
 * The components of an archive path relative to the root: leading "/" and "./" dropped, "." and empty
 * components removed; ".." is refused (a layer has no business going up). [] is the root itself.
 * @example archivePathComponents('./usr//bin/') // ["usr", "bin"]
 */
export function archivePathComponents(entryPath: string): string[] {
  if (entryPath.includes('\0')) throw new LayerPathError(entryPath, 'contains a NUL byte');
  const parts = entryPath.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw new LayerPathError(entryPath, 'contains ".."');
  return parts;
}

/**
 * The host path of `components` under `root`, with symlinks among all but the last component followed inside
 * the root (and the last one too with `followLast`). Missing components are taken as they are (they will be
 * created as folders). Throws ELOOP-like LayerPathError past 40 symlinks.
 */
export async function resolveInRoot(root: string, components: string[], entryPath: string, followLast = false): Promise<string> {
  const resolved: string[] = [];
  const queue = [...components];
  let links = 0;
  while (queue.length > 0) {
    const part = queue.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      resolved.pop(); // ".." at the root stays at the root, like "/.." does
      continue;
    }
    if (queue.length === 0 && !followLast) {
      resolved.push(part);
      break;
    }
    const candidate = path.join(root, ...resolved, part);
    let target: string | undefined;
    try {
      const stats = await lstat(candidate);
      if (stats.isSymbolicLink()) target = await readlink(candidate);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (target === undefined) {
      resolved.push(part);
      continue;
    }
    if (++links > MAX_SYMLINKS) throw new LayerPathError(entryPath, `more than ${MAX_SYMLINKS} symlinks on the way`);
    if (target.startsWith('/')) resolved.length = 0;
    queue.unshift(...target.split('/'));
  }
  return path.join(root, ...resolved);
}
