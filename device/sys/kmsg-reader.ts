/**
 * Reads the kernel log record by record from /dev/kmsg, on a descriptor of its own (the init's log writes to another
 * one). A fresh open starts at the oldest record still in the ring buffer; the descriptor is non-blocking, so `read`
 * returns undefined when the reader has caught up instead of stalling PID 1.
 */
import * as fs from 'node:fs';

export interface KmsgReader {
  /** The next record ("6,339,5140900,-;text\n"), or undefined when there is none yet. */
  read(): string | undefined;
  close(): void;
}

/** One record is at most ~8 KiB (the kernel's CONSOLE_EXT_LOG_MAX); a shorter buffer gets EINVAL. */
const RECORD_BUFFER = 8192;

export function openKmsgReader(file = '/dev/kmsg'): KmsgReader {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const buffer = Buffer.alloc(RECORD_BUFFER);
  return {
    read() {
      for (;;) {
        try {
          const n = fs.readSync(fd, buffer, 0, buffer.length, null);
          return n === 0 ? undefined : buffer.toString('utf8', 0, n);
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if (code === 'EAGAIN') return undefined;
          // The ring buffer wrapped past this reader: the next read returns the oldest record left.
          // (The records' sequence numbers show how many were lost.)
          if (code === 'EPIPE') continue;
          throw error;
        }
      }
    },
    close: () => fs.closeSync(fd),
  };
}
