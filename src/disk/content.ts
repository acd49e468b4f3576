/**
 * A partition's initial content: a host folder (`content:` in the config, relative to it). ext4 partitions get it
 * through `mkfs.ext4 -d`; vfat partitions need it as a file list for kiln's FAT32 writer.
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FatFile } from '../formats/fat/index.js';
import { KilnError } from '../util/errors.js';
import { partitionWhere, type PlannedPartition } from './plan.js';

/** The content folder of `planned` as an absolute path, checked to be a folder; undefined without one. */
export async function contentFolder(planned: PlannedPartition, configDir: string): Promise<string | undefined> {
  const content = planned.partition.content;
  if (content === undefined) return undefined;
  const folder = path.resolve(configDir, content);
  const st = await lstat(folder).catch(() => undefined);
  if (st === undefined) {
    throw new KilnError('DISK_CONTENT', `${partitionWhere(planned, 'content')}: folder ${folder} does not exist`, {
      hint: 'content is a host folder, relative to the config file, copied into the new filesystem.',
    });
  }
  if (!st.isDirectory()) throw new KilnError('DISK_CONTENT', `${partitionWhere(planned, 'content')}: ${folder} is not a folder`);
  return folder;
}

/** Every regular file below `folder`, with `/`-separated relative paths, sorted. FAT has no symlinks or devices. */
export async function readFatContent(folder: string, where: string): Promise<FatFile[]> {
  // `where` names the content key, e.g. "gateway.yml: storage.partitions[0].content (ESP)".
  const files: FatFile[] = [];
  for (const rel of (await readdir(folder, { recursive: true })).sort()) {
    const full = path.join(folder, rel);
    const st = await lstat(full);
    if (st.isDirectory()) continue;
    if (!st.isFile()) throw new KilnError('DISK_CONTENT', `${where}: ${full} is not a regular file; a vfat partition can hold only files and folders`);
    files.push({ path: rel.split(path.sep).join('/'), data: await readFile(full) });
  }
  return files;
}
