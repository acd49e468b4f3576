/**
 * After a commit, the ESP's removable-media loader (EFI/BOOT/BOOTX64.EFI) becomes the committed firmware: the
 * last-known-good fallback any firmware boots when kiln's entries are gone (a reset NVRAM, a disk moved to another
 * machine). Only ever after a commit, so the fallback is never a build that has not passed its health gate; written
 * as `.new`, fsynced, renamed. An ESP without room for two firmwares (a 64 MiB ESP, a 52 MB fast build) has the old
 * one removed first: for those seconds the fallback is missing, but kiln's boot entries — both slots in BootOrder —
 * still boot the device. A failure is only logged: the commit stands.
 */
import { digestOf, letThrough, type SlotFiles } from '../sys/slot-files.ts';

/**
 * Copies `from` over `to` through `to.new`: the old file stays whole until the rename. A chunk at a time, letting
 * the event loop through (the watchdog is petted from it); the copy is read back after the rename.
 */
export async function replaceFile(files: SlotFiles, from: string, to: string): Promise<{ size: number; sha256: string; inPlace: boolean }> {
  const temp = `${to}.new`;
  const dir = to.slice(0, to.lastIndexOf('/'));
  const inPlace = files.exists(to) && files.freeBytes(dir) < files.size(from) + (1 << 20);
  if (inPlace) files.remove(to);
  const fd = files.create(temp);
  try {
    for (const chunk of files.chunks(from)) {
      files.write(fd, chunk);
      await letThrough();
    }
    files.fsync(fd);
  } catch (error) {
    files.close(fd);
    files.remove(temp);
    throw error;
  }
  files.close(fd);
  files.rename(temp, to);
  files.fsyncDir(dir);
  files.dropCaches();
  return { ...(await digestOf(files, to)), inPlace };
}
