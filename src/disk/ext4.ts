/**
 * ext4 partitions, made by e2fsprogs' mkfs.ext4 straight into the disk image at the partition's offset
 * (`-E offset=`): no root, no loop device, no copy. `-d` fills the new filesystem from a host folder.
 */
import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import { execOk } from '../util/exec.js';

export interface Ext4Options {
  /** The disk image (or block device) to write into. */
  target: string;
  offsetBytes: number;
  sizeBytes: number;
  label: string;
  /** Filesystem UUID, so equal inputs give equal images. */
  uuid: string;
  /** Seed of the directory hash, for the same reason. */
  hashSeed: string;
  /** Host folder copied in; undefined = an empty filesystem. */
  contentDir?: string;
  /** Seconds since the epoch for the filesystem's own times; 0 = now. */
  mtime: number;
}

/** The mkfs.ext4 command line for `o`; separate so the tests can see it. */
export function mkfsExt4Args(o: Ext4Options): string[] {
  const extended = [`offset=${o.offsetBytes}`, `hash_seed=${o.hashSeed}`, 'root_owner=0:0'];
  return [
    '-q', // quiet: errors still go to stderr
    '-F', // the target is a file (or a whole disk), not a partition: do not ask
    '-t',
    'ext4',
    '-L',
    o.label,
    '-U',
    o.uuid,
    '-E',
    extended.join(','),
    ...(o.contentDir === undefined ? [] : ['-d', o.contentDir]),
    o.target,
    // Without a unit mke2fs would read blocks; k is KiB.
    `${o.sizeBytes / 1024}k`,
  ];
}

/**
 * Runs mkfs.ext4; a failure is a KilnError carrying its last line of stderr. With `mtime`, what mkfs writes itself
 * (superblock, root folder, lost+found) carries that time, so an ext4 partition without content is byte-for-byte
 * reproducible. Content keeps its host files' times: `-d` copies each inode's ctime, which no user can set.
 */
export async function makeExt4(o: Ext4Options, where: string): Promise<void> {
  const env = o.mtime > 0 ? { ...process.env, E2FSPROGS_FAKE_TIME: String(o.mtime) } : process.env;
  await execOk(await sbinTool('mkfs.ext4'), mkfsExt4Args(o), `${where}: making the ext4 filesystem`, { env });
}

/**
 * A tool from /usr/sbin: on the PATH for root, but Debian's default PATH for other users leaves sbin out, and
 * mkfs.ext4 works fine without root on an image file.
 */
export async function sbinTool(name: string): Promise<string> {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    if (
      await access(candidate, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return candidate;
  }
  return name; // exec reports it missing, naming its package
}
