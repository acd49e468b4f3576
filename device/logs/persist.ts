/**
 * Persists the init's log (init.log) and the kernel's (kernel.log, read from /dev/kmsg) to a folder on a partition.
 *
 * Both files start each boot with a marker line. The kernel log is read from the oldest record still in the ring
 * buffer, so kernel.log holds the whole boot, then polled. Files are fsynced on rotation, periodically when
 * written, and at shutdown. The first write that fails (read-only, full, gone) stops persisting for this boot with
 * one line on the console: the console and the kernel log go on as before.
 */
import type { DataFs } from '../sys/data-fs.ts';
import type { KmsgReader } from '../sys/kmsg-reader.ts';
import type { Log } from '../base/log.ts';
import { formatInitEntry, formatKmsgRecord, kmsgSequence } from '../contract/logs/line-format.ts';
import { openRotatingFile, type RotatingFile, type RotationLimits } from './rotating-file.ts';
import { errorMessage } from '../contract/error-message.ts';

export const INIT_LOG = 'init.log';
export const KERNEL_LOG = 'kernel.log';

export interface PersistDeps {
  data: DataFs;
  log: Log;
  openKmsg: () => KmsgReader;
  /** Run `fn` every `ms` until the returned function is called (setInterval). */
  every: (ms: number, fn: () => void) => () => void;
}

export interface PersistOptions extends RotationLimits {
  dir: string;
  /** The boot marker line (see line-format.ts). */
  marker: string;
  /** How often new kernel records are copied. */
  pollMs?: number;
  /** How often written files are fsynced between rotations. */
  syncMs?: number;
}

export interface LogPersister {
  /** Copy what is new, fsync, close: at shutdown, before the partition is unmounted. */
  close(): void;
  /** False once a write failed (and it said so). */
  active(): boolean;
}

const POLL_MS = 1000;
/** Bounds what a power cut loses to about this long (ext4 itself may hold data back ~30 s without an fsync). */
const SYNC_MS = 10_000;

/** Opens both files and starts copying; throws when the folder or the files cannot be opened. */
export function persistLogs(deps: PersistDeps, options: PersistOptions): LogPersister {
  const { data, log } = deps;
  data.mkdirp(options.dir);
  const initFile = openRotatingFile(data, `${options.dir}/${INIT_LOG}`, options);
  let kernelFile: RotatingFile;
  try {
    kernelFile = openRotatingFile(data, `${options.dir}/${KERNEL_LOG}`, options);
  } catch (error) {
    initFile.close();
    throw error;
  }
  // Small against the cap, so a rotated file still holds about maxBytes.
  const batchBytes = Math.min(16 * 1024, Math.floor(options.maxBytes / 8));
  let kmsg: KmsgReader | undefined;
  let lastSeq: number | undefined;
  const timers: (() => void)[] = [];
  let running = true;

  function stop(): void {
    running = false;
    for (const cancel of timers.splice(0)) cancel();
    log.detachFile();
    try {
      kmsg?.close();
    } catch {
      // Nothing to do about it.
    }
  }

  /** Runs a write; on the first failure stops everything and says so once. */
  function guarded(file: RotatingFile, write: () => void): void {
    if (!running) return;
    try {
      write();
    } catch (error) {
      stop();
      for (const f of [initFile, kernelFile]) {
        try {
          f.close();
        } catch {
          // Already failing; the message below is what matters.
        }
      }
      log.warn(`logs: cannot write ${file.path}: ${errorMessage(error)}; ` + 'not persisting logs until the next boot (the console log goes on)');
    }
  }

  function copyKernelLog(): void {
    if (kmsg === undefined) return;
    guarded(kernelFile, () => {
      // A few writes rather than one per record: the first copy after boot is hundreds of records.
      let batch = '';
      for (let record = kmsg!.read(); record !== undefined; record = kmsg!.read()) {
        // A flood can wrap the ring buffer before records are copied: say so where lines are missing.
        const seq = kmsgSequence(record);
        if (seq !== undefined) {
          const lost = seq - (lastSeq ?? -1) - 1;
          if (lost > 0) batch += `-- kiln: ${lost} kernel log record${lost === 1 ? ' was' : 's were'} overwritten before they could be copied --\n`;
          lastSeq = seq;
        }
        batch += formatKmsgRecord(record) ?? '';
        if (batch.length >= batchBytes) {
          kernelFile.write(batch);
          batch = '';
        }
      }
      if (batch !== '') kernelFile.write(batch);
    });
  }

  guarded(initFile, () => initFile.write(options.marker));
  guarded(kernelFile, () => kernelFile.write(options.marker));
  if (running) log.attachFile((entry) => guarded(initFile, () => initFile.write(formatInitEntry(entry))));
  try {
    kmsg = deps.openKmsg();
  } catch (error) {
    log.warn(`logs: cannot read the kernel log: ${errorMessage(error)}; ${KERNEL_LOG} stays empty`);
  }
  copyKernelLog();
  if (running) {
    timers.push(deps.every(options.pollMs ?? POLL_MS, copyKernelLog));
    timers.push(
      deps.every(options.syncMs ?? SYNC_MS, () => {
        guarded(initFile, () => initFile.sync());
        guarded(kernelFile, () => kernelFile.sync());
      }),
    );
  }

  return {
    active: () => running,
    close() {
      if (!running) return;
      copyKernelLog();
      guarded(initFile, () => initFile.close());
      guarded(kernelFile, () => kernelFile.close());
      if (running) stop();
    },
  };
}
