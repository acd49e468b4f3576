/**
 * Installing a `layout: source` firmware: its payload is a gzipped tar of everything one slot holds (the UKI at its slot
 * path, linux_<arch>/ with the build stamp the first stage looks for, src/), written by `kiln` on the host
 * (src/update/slot-tree.ts). It is unpacked into the inactive slot — already emptied by the caller — as it streams
 * in, with the size and SHA-256 of the whole payload checked as it comes, exactly as writePayload does for a bare
 * EFI. What makes a slot bootable is its UKI, so the UKI is written as `.new` and renamed into place only after the
 * whole payload matched the signed digest, every file was fsynced, and each file read back from the disk (page
 * cache dropped) is what was written. Any failure empties the slot again: a slot holds one whole firmware or none.
 *
 * Only plain files under EFI/, linux_*\/ and src/ are accepted (folders are implied: FAT keeps no modes), each path
 * relative, without `..`, once: a signed payload is trusted for its bytes, and this still keeps a damaged or hostile
 * archive inside the slot.
 */
import { createHash } from 'node:crypto';
import type { FirmwareStatement } from '../contract/update/statement.ts';
import { readTar } from '../formats/tar/index.ts';
import { decompress } from '../containers/decompress.ts';
import { digestOf, letThrough, type SlotFiles } from '../sys/slot-files.ts';
import { PayloadMeter, UpdateRefused } from './install.ts';

export interface TreeTarget {
  files: SlotFiles;
  /** The mounted slot. */
  root: string;
  /** The UKI's path in the slot (SLOT_EFI_FILE): the entry that makes the slot bootable. */
  efiFile: string;
}

const TOP_FOLDERS = /^(EFI|linux_[a-z0-9]+|src)\//;

/** Unpacks `payload` into the slot. Resolves with the UKI's SHA-256 (what the ESP fallback becomes after a commit). */
export async function writeTree(
  payload: AsyncIterable<Uint8Array>,
  statement: FirmwareStatement,
  target: TreeTarget,
  onBytes?: (n: number) => void,
): Promise<{ efiSha256: string }> {
  const { files, root, efiFile } = target;
  const meter = new PayloadMeter(statement, onBytes);
  async function* measured(): AsyncIterable<Uint8Array> {
    for await (const chunk of payload) {
      meter.take(chunk);
      yield chunk;
    }
  }
  const written = new Map<string, { size: number; sha256: string }>();
  const folders = new Set<string>();
  try {
    for await (const entry of readTar(decompress(measured()))) {
      if (entry.type === 'directory') continue;
      const name = checkedPath(entry.path, entry.type);
      if (written.has(name)) throw new UpdateRefused(400, `the payload holds ${name} twice`);
      const file = `${root}/${name}${name === efiFile ? '.new' : ''}`;
      folders.add(file.slice(0, file.lastIndexOf('/')));
      written.set(name, await writeFile(files, file, entry.body, statement.size));
    }
    // The tar's end is not the payload's: whatever follows it (or a source the reader did not drain) is checked too.
    meter.finish();
    const efi = written.get(efiFile);
    if (efi === undefined) throw new UpdateRefused(400, `the payload holds no ${efiFile}: not a slot of this architecture`);
    for (const folder of [...folders].sort().reverse()) {
      files.fsyncDir(folder);
      await letThrough();
    }
    files.dropCaches();
    for (const [name, expected] of written) {
      const back = await digestOf(files, `${root}/${name}${name === efiFile ? '.new' : ''}`);
      if (back.size !== expected.size || back.sha256 !== expected.sha256)
        throw new UpdateRefused(500, `read back from the slot, ${name} is not what was written: the slot did not keep it`);
    }
    const uki = `${root}/${efiFile}`;
    files.rename(`${uki}.new`, uki);
    files.fsyncDir(uki.slice(0, uki.lastIndexOf('/')));
    return { efiSha256: efi.sha256 };
  } catch (error) {
    try {
      files.clear(root);
    } catch {
      // The reason the install failed is the one to report; the next install empties the slot first anyway.
    }
    // A damaged archive: the tar reader's DecodeError (a SyntaxError), or zlib's Z_DATA_ERROR / Z_BUF_ERROR.
    if (error instanceof SyntaxError || /^Z_/.test(String((error as NodeJS.ErrnoException).code)))
      throw new UpdateRefused(400, `the payload is not a slot's tree: ${(error as Error).message}`);
    throw error;
  }
}

function checkedPath(path: string, type: string): string {
  const name = path.startsWith('./') ? path.slice(2) : path;
  if (type !== 'file') throw new UpdateRefused(400, `the payload's ${JSON.stringify(path)} is a ${type}; a slot holds only files`);
  if (!TOP_FOLDERS.test(name) || name.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw new UpdateRefused(400, `the payload's ${JSON.stringify(path)} is outside EFI/, linux_<arch>/ and src/ of a slot`);
  }
  return name;
}

async function writeFile(files: SlotFiles, file: string, body: AsyncIterable<Uint8Array>, total: number): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  const fd = files.create(file);
  try {
    for await (const chunk of body) {
      try {
        files.write(fd, chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOSPC') throw new UpdateRefused(507, `the slot is full: the ${total}-byte firmware does not fit it`);
        throw error;
      }
      hash.update(chunk);
      size += chunk.length;
      // Chunks already buffered arrive as microtasks, which never let timers run: without this a fast upload of
      // many small files starves the watchdog's petting for as long as the backlog lasts.
      await letThrough();
    }
    files.fsync(fd);
  } finally {
    files.close(fd);
  }
  return { size, sha256: hash.digest('hex') };
}
