import { DIRENT_SIZE, LFN_UNITS_PER_ENTRY, MAX_DIRECTORY_ENTRIES } from './_constants.js';
import { generateShortName, isShortName, longNameProblem, toShortNameField } from './names.js';

/** A file to put on the volume; `path` is relative, `/`-separated (`EFI/BOOT/BOOTX64.EFI`). */
export interface FatFile {
  path: string;
  data: Uint8Array;
}

interface NodeBase {
  name: string;
  /** Full path, for messages. */
  path: string;
  /** The 11-character on-disk short name. */
  shortName: string;
  /** Whether long-name entries precede the short entry. */
  needsLongName: boolean;
  /** First cluster, once allocated (0 for an empty file). */
  cluster: number;
}
export interface FileNode extends NodeBase {
  kind: 'file';
  data: Uint8Array;
}
export interface DirNode extends NodeBase {
  kind: 'dir';
  children: TreeNode[];
  /** Directory entries this directory needs, including ".", ".." and the label. */
  entryCount: number;
}
export type TreeNode = FileNode | DirNode;

/** The largest file FAT32 can hold. */
const MAX_FILE_SIZE = 0xffff_ffff;

/**
 * Turns a flat list of files into a directory tree with sorted children (so the image does not depend on the
 * order files were listed in), short names assigned and directory sizes counted.
 * Throws `TypeError` for names FAT cannot hold and for paths that collide (FAT names ignore case).
 */
export function buildTree(files: readonly FatFile[], hasLabel: boolean): DirNode {
  const root: DirNode = { kind: 'dir', name: '', path: '', shortName: '', needsLongName: false, cluster: 0, children: [], entryCount: 0 };
  const keys = new Map<DirNode, Map<string, TreeNode>>([[root, new Map()]]);
  for (const file of files) {
    const parts = file.path.split('/');
    for (const part of parts) {
      const problem = longNameProblem(part);
      if (problem !== undefined) throw new TypeError(`FAT path "${file.path}" is not valid: ${problem}`);
    }
    if (file.data.length > MAX_FILE_SIZE) throw new RangeError(`FAT path "${file.path}" is larger than FAT32's 4 GiB - 1 limit`);
    let dir = root;
    parts.forEach((name, i) => {
      const path = parts.slice(0, i + 1).join('/');
      const siblings = keys.get(dir)!;
      const existing = siblings.get(name.toUpperCase());
      const isLast = i === parts.length - 1;
      if (existing !== undefined) {
        const wantDir = !isLast;
        if ((existing.kind === 'dir') !== wantDir) throw new TypeError(`FAT path "${path}" is both a file and a directory`);
        if (existing.name !== name) {
          throw new TypeError(`FAT path "${path}" collides with "${existing.path}" (FAT names ignore case)`);
        }
        if (!wantDir) throw new TypeError(`FAT path "${path}" is given twice`);
        dir = existing as DirNode;
        return;
      }
      const base = { name, path, shortName: '', needsLongName: !isShortName(name), cluster: 0 };
      const node: TreeNode = isLast ? { kind: 'file', ...base, data: file.data } : { kind: 'dir', ...base, children: [], entryCount: 0 };
      siblings.set(name.toUpperCase(), node);
      dir.children.push(node);
      if (node.kind === 'dir') {
        keys.set(node, new Map());
        dir = node;
      }
    });
  }
  finishDirectory(root, hasLabel);
  return root;
}

function finishDirectory(dir: DirNode, hasLabel: boolean): void {
  dir.children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // Names that are already short names own them; generated ones must avoid them.
  const taken = new Set<string>();
  for (const child of dir.children) {
    if (!child.needsLongName) {
      child.shortName = toShortNameField(child.name);
      taken.add(child.shortName);
    }
  }
  let entries = dir.path === '' ? (hasLabel ? 1 : 0) : 2; // the label, or "." and ".."
  for (const child of dir.children) {
    if (child.needsLongName) {
      child.shortName = generateShortName(child.name, taken);
      taken.add(child.shortName);
      entries += Math.ceil(child.name.length / LFN_UNITS_PER_ENTRY);
    }
    entries += 1;
    if (child.kind === 'dir') finishDirectory(child, false);
  }
  if (entries > MAX_DIRECTORY_ENTRIES) {
    throw new RangeError(`FAT directory "${dir.path || '/'}" needs ${entries} entries; at most ${MAX_DIRECTORY_ENTRIES} fit`);
  }
  dir.entryCount = entries;
}

/** Clusters a directory with `entryCount` entries occupies (at least one, even when empty). */
export function directoryClusters(entryCount: number, bytesPerCluster: number): number {
  return Math.max(1, Math.ceil((entryCount * DIRENT_SIZE) / bytesPerCluster));
}

/** Clusters a file of `size` bytes occupies (none when empty). */
export function fileClusters(size: number, bytesPerCluster: number): number {
  return Math.ceil(size / bytesPerCluster);
}

/** Every directory, breadth first from the root, then every file, depth first: the order clusters are handed out. */
export function allocationOrder(root: DirNode): { dirs: DirNode[]; files: FileNode[] } {
  const dirs: DirNode[] = [root];
  for (let i = 0; i < dirs.length; i++) {
    for (const child of dirs[i].children) if (child.kind === 'dir') dirs.push(child);
  }
  const files: FileNode[] = [];
  const walk = (dir: DirNode): void => {
    for (const child of dir.children) {
      if (child.kind === 'file') files.push(child);
      else walk(child);
    }
  };
  walk(root);
  return { dirs, files };
}

/** Clusters the whole tree needs with clusters of `bytesPerCluster`. */
export function clustersNeeded(root: DirNode, bytesPerCluster: number): number {
  const { dirs, files } = allocationOrder(root);
  return (
    dirs.reduce((sum, d) => sum + directoryClusters(d.entryCount, bytesPerCluster), 0) +
    files.reduce((sum, f) => sum + fileClusters(f.data.length, bytesPerCluster), 0)
  );
}
