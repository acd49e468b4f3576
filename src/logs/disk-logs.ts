/**
 * Reading a device's persisted logs back out of its disk image on the host, without root or loop devices: the GPT
 * says where each partition is, debugfs (e2fsprogs) reads files out of an ext4 partition at that offset. A partition
 * whose journal still holds changes (the device lost power, or `kiln run` stopped it hard) is first copied to a temp
 * file and its journal replayed there with e2fsck, so the image itself is never written.
 */
import { copyFile, mkdtemp, open, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { splitBoots, type BootLog } from '../../device/contract/logs/line-format.ts';
import { decodeExt4Superblock, EXT4_SUPERBLOCK_OFFSET, EXT4_SUPERBLOCK_SIZE, hasExt4Magic } from '../../device/contract/fs/ext4-superblock.ts';
import { sbinTool } from '../disk/ext4.js';
import { readGptHead } from '../disk/gpt-head.js';
import { KilnError } from '../util/errors.js';
import { exec, lastLine } from '../util/exec.js';

export interface Ext4Partition {
  number: number;
  label: string;
  offsetBytes: number;
  sizeBytes: number;
  needsRecovery: boolean;
}

/** The ext4 partitions of a GPT disk image. */
export async function ext4Partitions(disk: string): Promise<Ext4Partition[]> {
  const file = await open(disk, 'r').catch((err: NodeJS.ErrnoException) => {
    throw new KilnError('DISK_UNREADABLE', `${disk}: cannot read the disk image (${err.code ?? String(err)})`);
  });
  try {
    const { size } = await file.stat();
    let partitions;
    try {
      partitions = (await readGptHead(file, size)).partitions;
    } catch (err) {
      throw new KilnError('DISK_NOT_GPT', `${disk}: not a GPT disk image: ${(err as Error).message}`, {
        hint: 'kiln logs reads a disk made by `kiln disk` (or kept by `kiln run --keep-disk`).',
      });
    }
    const found: Ext4Partition[] = [];
    for (const p of partitions) {
      // The device's own superblock decoder (device/contract/fs), on the partition's first bytes.
      const head = Buffer.alloc(EXT4_SUPERBLOCK_OFFSET + EXT4_SUPERBLOCK_SIZE);
      await file.read(head, 0, head.length, p.offsetBytes);
      if (!hasExt4Magic(head)) continue;
      let sb;
      try {
        sb = decodeExt4Superblock(head);
      } catch (err) {
        throw new KilnError('DISK_CORRUPT', `${disk}: partition ${p.number}: ${(err as Error).message}`, {
          hint: `Check it with e2fsck -n (the partition starts at byte ${p.offsetBytes}).`,
        });
      }
      found.push({ number: p.number, label: sb.label, offsetBytes: p.offsetBytes, sizeBytes: p.sizeBytes, needsRecovery: sb.needsRecovery });
    }
    return found;
  } finally {
    await file.close();
  }
}

/** An ext4 filesystem debugfs can read: the image at an offset, or a recovered temp copy. */
export interface Ext4Reader {
  /** debugfs `ls -p`: names of the entries of `dir` with whether each is a folder; undefined when there is no such folder. */
  list(dir: string): Promise<{ name: string; folder: boolean }[] | undefined>;
  /** A file's content; undefined when there is no such file. */
  read(file: string): Promise<string | undefined>;
  close(): Promise<void>;
}

export async function openExt4(disk: string, partition: Ext4Partition): Promise<Ext4Reader> {
  const debugfs = await sbinTool('debugfs');
  let image = `${disk}?offset=${partition.offsetBytes}`;
  let temp: string | undefined;
  if (partition.needsRecovery) {
    temp = await mkdtemp(path.join(os.tmpdir(), 'kiln-logs-'));
    image = path.join(temp, 'partition.img');
    try {
      await copyRange(disk, image, partition.offsetBytes, partition.sizeBytes);
      // Replays the journal into the copy (exit 1: "errors corrected" is what a replay reports).
      const fsck = await exec(await sbinTool('e2fsck'), ['-E', 'journal_only', '-y', image]);
      if (fsck.code > 1) {
        throw new KilnError(
          'DISK_EXT4',
          `${disk}: partition ${partition.number} (${partition.label}): replaying its journal failed: ${lastLine(fsck.stderr || fsck.stdout)}`,
        );
      }
    } catch (error) {
      await rm(temp, { recursive: true, force: true });
      throw error;
    }
  }
  const run = async (command: string) => {
    const result = await exec(debugfs, ['-R', command, image]);
    // debugfs exits 0 whatever happens; a filesystem it cannot open shows only on stderr.
    if (result.code !== 0 || /while (trying to open|opening filesystem)|Filesystem not open/.test(result.stderr)) {
      throw new KilnError('DISK_EXT4', `${disk}: partition ${partition.number} (${partition.label}): debugfs cannot read it: ${lastLine(result.stderr)}`);
    }
    return result;
  };
  return {
    async list(dir) {
      const result = await run(`ls -p ${quote(dir)}`);
      if (/File not found by ext2_lookup|Ext2 inode is not a directory/.test(result.stderr)) return undefined;
      // "/ino/mode/uid/gid/name/size/" per entry; mode 04xxxx is a folder.
      return result.stdout
        .split('\n')
        .map((line) => /^\/(\d+)\/(\d+)\/\d+\/\d+\/(.*)\/\d*\/$/.exec(line))
        .filter((m): m is RegExpExecArray => m !== null && m[3] !== '.' && m[3] !== '..')
        .map((m) => ({ name: m[3]!, folder: m[2]!.startsWith('04') }));
    },
    async read(file) {
      const result = await run(`cat ${quote(file)}`);
      if (/File not found by ext2_lookup/.test(result.stderr)) return undefined;
      return result.stdout;
    },
    async close() {
      if (temp !== undefined) await rm(temp, { recursive: true, force: true });
    },
  };
}

/** debugfs splits its command line at spaces unless quoted. */
function quote(file: string): string {
  return `"${file.replace(/(["\\])/g, '\\$1')}"`;
}

async function copyRange(from: string, to: string, offset: number, length: number): Promise<void> {
  if (offset === 0 && length === (await stat(from)).size) return copyFile(from, to);
  const source = await open(from, 'r');
  const target = await open(to, 'w');
  try {
    const chunk = Buffer.alloc(1 << 20);
    const zeros = Buffer.alloc(chunk.length);
    for (let done = 0; done < length;) {
      const { bytesRead } = await source.read(chunk, 0, Math.min(chunk.length, length - done), offset + done);
      if (bytesRead === 0) break;
      // Leave all-zero chunks as holes: an empty data partition stays cheap to copy.
      if (!chunk.subarray(0, bytesRead).equals(zeros.subarray(0, bytesRead))) await target.write(chunk, 0, bytesRead, done);
      done += bytesRead;
    }
    await target.truncate(length);
  } finally {
    await source.close();
    await target.close();
  }
}

export const LOG_NAMES = { init: 'init.log', kernel: 'kernel.log' } as const;

/** Folders searched for init.log when none is named: the partition root and two levels below it. */
const SEARCH_DEPTH = 3;

export interface FoundLogs {
  partition: Ext4Partition;
  /** Folder inside the partition. */
  dir: string;
  /** The log's files oldest first, concatenated. */
  text: string;
}

/**
 * Finds a log (`init.log` or `kernel.log`, with its rotated files) on the disk: in `dir` if given (a folder inside the
 * partition, e.g. "/log" for logs.path /data/log with DATA mounted at /data), else the first folder holding it.
 */
export async function readDiskLog(disk: string, name: string, dir?: string): Promise<FoundLogs> {
  const partitions = await ext4Partitions(disk);
  if (partitions.length === 0) throw new KilnError('LOGS_NOT_FOUND', `${disk}: no ext4 partition, so no persisted logs`);
  for (const partition of partitions) {
    const fs = await openExt4(disk, partition);
    try {
      const folder = dir ?? (await findFolderWith(fs, '/', name, SEARCH_DEPTH));
      const entries = folder === undefined ? undefined : await fs.list(folder);
      if (folder === undefined || entries === undefined || !entries.some((e) => e.name === name)) continue;
      const rotated = entries
        .map((e) => new RegExp(`^${name.replace('.', '\\.')}\\.(\\d+)$`).exec(e.name))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => Number(m[1]))
        .sort((a, b) => b - a);
      let text = '';
      for (const file of [...rotated.map((n) => `${name}.${n}`), name]) text += (await fs.read(`${folder.replace(/\/$/, '')}/${file}`)) ?? '';
      return { partition, dir: folder, text };
    } finally {
      await fs.close();
    }
  }
  const where = dir === undefined ? `in the first ${SEARCH_DEPTH} folder levels of any ext4 partition` : `in ${dir} of any ext4 partition`;
  throw new KilnError('LOGS_NOT_FOUND', `${disk}: no ${name} ${where}`, {
    hint: 'The device writes its logs to logs.path of its config once a partition is mounted there; has it booted with this disk?',
  });
}

async function findFolderWith(fs: Ext4Reader, dir: string, name: string, depth: number): Promise<string | undefined> {
  const entries = await fs.list(dir);
  if (entries === undefined) return undefined;
  if (entries.some((e) => e.name === name && !e.folder)) return dir;
  if (depth <= 1) return undefined;
  for (const entry of entries.filter((e) => e.folder && e.name !== 'lost+found')) {
    const found = await findFolderWith(fs, `${dir.replace(/\/$/, '')}/${entry.name}`, name, depth - 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * Picks boots like journalctl -b: 0 is the last, -1 the one before it, 1 the oldest still in the files. Lines
 * before the first marker (its boot rotated away) are not a boot of their own.
 */
export function pickBoot(boots: readonly BootLog[], n: number): BootLog | undefined {
  const marked = boots.filter((b) => b.bootId !== undefined);
  return n > 0 ? marked[n - 1] : marked[marked.length - 1 + n];
}

export { splitBoots };
