/**
 * Applies one OCI layer (image-spec layer.md) onto a root folder: its entries are written over what the layers
 * below left there, `.wh.<name>` deletes `<name>` of the lower layers, `.wh..wh..opq` empties a folder of what the
 * lower layers put in it (entries of this layer stay, wherever the marker comes in the archive).
 * Nothing is written outside the root (see `root-path.ts`); hard links must point inside it.
 */
import { chmod, lchown, link, lstat, lutimes, mkdir, open, readdir, rm, symlink, unlink, utimes } from 'node:fs/promises';
import path from 'node:path';
import { readTar, type TarEntry } from '../formats/tar/index.ts';
import { decompress } from './decompress.ts';
import { archivePathComponents, LayerPathError, resolveInRoot } from './root-path.ts';

export type NodeKind = 'char' | 'block' | 'fifo';
/** mknod(2), which Node does not have: on the device it comes from libc; without one, nodes are skipped. */
export type MakeNode = (hostPath: string, kind: NodeKind, mode: number, major: number, minor: number) => Promise<void>;

/** lsetxattr(2), which Node does not have: on the device it comes from libc; without one, xattrs are reported. */
export type SetXattr = (hostPath: string, name: string, value: Uint8Array) => Promise<void>;

export interface ApplyLayerOptions {
  /** Sets extended attributes (file capabilities like ping's security.capability). @default none: reported as skipped */
  setXattr?: SetXattr;
  /** lchown every entry to its archive uid/gid. @default true when running as root */
  sameOwner?: boolean;
  /** Creates device nodes and fifos. @default none: they are skipped and reported */
  makeNode?: MakeNode;
  /** fsync every regular file once written, for a rootfs that must survive a power cut. @default false */
  fsync?: boolean;
}

/** An entry, or part of one, that could not be applied as archived (no mknod, EPERM on chown), and why. */
export interface SkippedEntry {
  path: string;
  reason: string;
}

export interface ApplyLayerReport {
  /** Entries written (files, folders, links, nodes), whiteouts not counted. */
  entries: number;
  whiteouts: number;
  skipped: SkippedEntry[];
}

/** A layer entry that failed to apply: the archive path, its header offset, and the cause. */
export class LayerEntryError extends Error {
  readonly path: string;
  readonly offset: number;
  constructor(entry: TarEntry, cause: unknown) {
    super(`Cannot apply layer entry ${JSON.stringify(entry.path)} (header at offset ${entry.offset}): ${(cause as Error).message ?? String(cause)}`, { cause });
    this.name = 'LayerEntryError';
    this.path = entry.path;
    this.offset = entry.offset;
  }
}

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';

/**
 * Unpacks a layer blob (plain, gzip or zstd tar, told apart by its first bytes) onto `root`.
 * @example await unpackLayer('/data/roots/x/rootfs', fs.createReadStream(blobPath))
 */
export function unpackLayer(root: string, blob: AsyncIterable<Uint8Array>, options: ApplyLayerOptions = {}): Promise<ApplyLayerReport> {
  return applyLayer(root, readTar(decompress(blob)), options);
}

interface DeferredDir {
  hostPath: string;
  mode: number;
  mtime: number;
}

/**
 * Applies tar entries onto `root` (which must exist). Folder modes and mtimes are set last, deepest first, so
 * writing their contents neither changes the mtime nor trips over a read-only folder.
 */
export async function applyLayer(root: string, entries: AsyncIterable<TarEntry>, options: ApplyLayerOptions = {}): Promise<ApplyLayerReport> {
  const sameOwner = options.sameOwner ?? process.getuid?.() === 0;
  const report: ApplyLayerReport = { entries: 0, whiteouts: 0, skipped: [] };
  /** Paths (components joined by "/") this layer wrote, with their ancestors: whiteouts spare them. */
  const written = new Set<string>(['']);
  const dirs: DeferredDir[] = [];
  /**
   * Folders known to be real folders (not symlinks) in this run, by archive path → host path: most entries sit in
   * a folder met just before, and resolving each component again costs an lstat each. Any removal clears it.
   */
  const knownDirs = new Map<string, string>([['', root]]);
  const removeTree = async (hostPath: string): Promise<void> => {
    knownDirs.clear();
    knownDirs.set('', root);
    await rm(hostPath, { recursive: true, force: true });
  };
  const markWritten = (components: string[]): void => {
    for (let i = 1; i <= components.length; i++) written.add(components.slice(0, i).join('/'));
  };

  /** Removes what lower layers left at `components`, sparing what this layer wrote. */
  const clearLower = async (components: string[], entryPath: string): Promise<void> => {
    const hostPath = await resolveInRoot(root, components, entryPath);
    if (!written.has(components.join('/'))) {
      await removeTree(hostPath);
      return;
    }
    const stats = await lstat(hostPath).catch(() => undefined);
    if (stats?.isDirectory()) {
      for (const child of await readdir(hostPath)) await clearLower([...components, child], entryPath);
    }
  };

  const own = async (entry: TarEntry, hostPath: string): Promise<void> => {
    if (!sameOwner) return;
    try {
      await lchown(hostPath, entry.uid, entry.gid);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EPERM' && code !== 'EINVAL') throw error;
      report.skipped.push({ path: entry.path, reason: `lchown ${entry.uid}:${entry.gid}: ${code}` });
    }
  };

  /** After chown (which clears security.capability) and chmod; never for hard links (they share the inode). */
  const setXattrs = async (entry: TarEntry, hostPath: string): Promise<void> => {
    const names = Object.keys(entry.xattrs);
    if (names.length === 0) return;
    if (options.setXattr === undefined) {
      report.skipped.push({ path: entry.path, reason: `xattrs not set (no setxattr): ${names.join(', ')}` });
      return;
    }
    for (const name of names) await options.setXattr(hostPath, name, entry.xattrs[name]!);
  };

  for await (const entry of entries) {
    try {
      const components = archivePathComponents(entry.path);
      const base = components.at(-1) ?? '';
      if (base.startsWith(WHITEOUT_PREFIX)) {
        const parent = components.slice(0, -1);
        report.whiteouts++;
        if (base === OPAQUE_MARKER) {
          const dir = await resolveInRoot(root, parent, entry.path, true);
          await mkdir(dir, { recursive: true });
          markWritten(parent);
          for (const child of await readdir(dir)) await clearLower([...parent, child], entry.path);
        } else if (base.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX)) {
          report.whiteouts--;
          report.skipped.push({ path: entry.path, reason: 'aufs metadata' });
        } else {
          const name = base.slice(WHITEOUT_PREFIX.length);
          if (name === '' || name === '.' || name === '..') throw new LayerPathError(entry.path, 'whiteout of nothing');
          await clearLower([...parent, name], entry.path);
        }
        continue;
      }
      if (components.length === 0) {
        if (entry.type !== 'directory') throw new LayerPathError(entry.path, `the root cannot be a ${entry.type}`);
        await own(entry, root);
        dirs.push({ hostPath: root, mode: entry.mode, mtime: entry.mtime });
        continue;
      }
      markWritten(components);
      const parentKey = components.slice(0, -1).join('/');
      let hostPath: string;
      const parentDir = knownDirs.get(parentKey);
      if (parentDir !== undefined) {
        hostPath = path.join(parentDir, base);
      } else {
        hostPath = await resolveInRoot(root, components, entry.path);
        await mkdir(path.dirname(hostPath), { recursive: true });
        knownDirs.set(parentKey, path.dirname(hostPath));
      }
      const existing = await lstat(hostPath).catch(() => undefined);
      const replace = async (): Promise<void> => {
        if (existing === undefined) return;
        if (existing.isDirectory()) await removeTree(hostPath);
        else {
          if (existing.isSymbolicLink()) knownDirs.clear(); // a cached folder may have been reached through it
          knownDirs.set('', root);
          await unlink(hostPath);
        }
      };
      report.entries++;
      switch (entry.type) {
        case 'directory':
          if (!existing?.isDirectory()) {
            await replace();
            await mkdir(hostPath, { mode: 0o700 });
          }
          await own(entry, hostPath);
          await setXattrs(entry, hostPath);
          dirs.push({ hostPath, mode: entry.mode, mtime: entry.mtime });
          knownDirs.set(components.join('/'), hostPath);
          break;
        case 'file': {
          await replace();
          const file = await open(hostPath, 'wx', 0o600);
          try {
            for await (const chunk of entry.body) {
              let done = 0;
              while (done < chunk.length) done += (await file.write(chunk, done, chunk.length - done)).bytesWritten;
            }
            if (options.fsync) await file.sync();
          } finally {
            await file.close();
          }
          await own(entry, hostPath);
          await chmod(hostPath, entry.mode);
          await setXattrs(entry, hostPath);
          await utimes(hostPath, entry.mtime, entry.mtime);
          break;
        }
        case 'symlink':
          await replace();
          await symlink(entry.linkPath, hostPath);
          await own(entry, hostPath);
          await setXattrs(entry, hostPath);
          await lutimes(hostPath, entry.mtime, entry.mtime);
          break;
        case 'hardlink': {
          let targetComponents: string[];
          try {
            targetComponents = archivePathComponents(entry.linkPath);
          } catch {
            throw new LayerPathError(entry.path, `hard link target ${JSON.stringify(entry.linkPath)} leaves the root`);
          }
          const target = await resolveInRoot(root, targetComponents, entry.path);
          const targetStats = await lstat(target).catch(() => undefined);
          if (targetStats === undefined) throw new LayerPathError(entry.path, `hard link target ${JSON.stringify(entry.linkPath)} does not exist`);
          if (targetStats.isDirectory()) throw new LayerPathError(entry.path, `hard link target ${JSON.stringify(entry.linkPath)} is a folder`);
          if (existing !== undefined && existing.ino === targetStats.ino && existing.dev === targetStats.dev) break;
          await replace();
          await link(target, hostPath);
          break;
        }
        case 'char':
        case 'block':
        case 'fifo': {
          await replace();
          if (options.makeNode === undefined) {
            report.entries--;
            report.skipped.push({ path: entry.path, reason: `${entry.type} node: no mknod` });
            break;
          }
          try {
            await options.makeNode(hostPath, entry.type, entry.mode, entry.devMajor, entry.devMinor);
          } catch (error) {
            const code = (error as NodeJS.ErrnoException).code;
            if (code !== 'EPERM') throw error;
            report.entries--;
            report.skipped.push({ path: entry.path, reason: `${entry.type} node ${entry.devMajor}:${entry.devMinor}: EPERM` });
            break;
          }
          await own(entry, hostPath);
          await chmod(hostPath, entry.mode);
          await setXattrs(entry, hostPath);
          await utimes(hostPath, entry.mtime, entry.mtime);
          break;
        }
      }
    } catch (error) {
      // File system errors get the entry's name; archive and digest errors say where they are themselves.
      if (typeof (error as NodeJS.ErrnoException).code !== 'string') throw error;
      throw new LayerEntryError(entry, error);
    }
  }
  dirs.sort((a, b) => b.hostPath.length - a.hostPath.length);
  for (const dir of dirs) {
    const stats = await lstat(dir.hostPath).catch(() => undefined);
    if (!stats?.isDirectory()) continue; // replaced or whited out later in the layer
    await chmod(dir.hostPath, dir.mode);
    await utimes(dir.hostPath, dir.mtime, dir.mtime);
  }
  return report;
}
