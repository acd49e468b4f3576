/**
 * Boot log: every line goes to the console (the init's stdout, /dev/console) and, once /dev is mounted, to the
 * kernel log through /dev/kmsg, so `dmesg` keeps the boot record after the console has scrolled away.
 *
 * Lines logged before /dev/kmsg can be opened are kept and replayed when it is attached.
 */

export type Level = 'info' | 'warn' | 'error';

/** syslog priorities as /dev/kmsg reads them from the `<N>` prefix. */
const KMSG_PRIORITY: Record<Level, number> = { info: 6, warn: 4, error: 3 };

/** The kernel rejects records over ~1 KiB (LOG_LINE_MAX); long lines are cut rather than lost. */
const KMSG_MAX_TEXT = 900;

/** Enough for every boot line before /dev exists; a runaway logger must not grow memory without bound. */
const BACKLOG_LIMIT = 256;

export const PREFIX = 'kiln: ';

export interface Log {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** Console only: for lines that are a contract on the console and must appear there exactly once. */
  consoleOnly(message: string): void;
  /** Start copying to the kernel log; `writeRecord` gets one record per call (one write(2) on /dev/kmsg). */
  attachKmsg(writeRecord: (record: string) => void): void;
}

/** Console text for one message: every line of it prefixed, so multi-line stacks stay grep-able. */
export function formatConsole(message: string): string {
  return message.split('\n').map((line) => PREFIX + line + '\n').join('');
}

/** /dev/kmsg records for one message: one record per line, each with its priority. */
export function formatKmsg(level: Level, message: string): string[] {
  return message.split('\n').map((line) => `<${KMSG_PRIORITY[level]}>${PREFIX}${line.slice(0, KMSG_MAX_TEXT)}`);
}

export function createLog(writeConsole: (text: string) => void): Log {
  let kmsg: ((record: string) => void) | undefined;
  let backlog: string[] | undefined = [];

  function toKmsg(records: string[]): void {
    if (kmsg === undefined) {
      if (backlog !== undefined) backlog.push(...records.slice(0, Math.max(0, BACKLOG_LIMIT - backlog.length)));
      return;
    }
    try {
      for (const record of records) kmsg(record);
    } catch (error) {
      // The kernel log is a copy; losing it must not take the init down. Say so once, on the console.
      kmsg = undefined;
      safeConsole(formatConsole(`kernel log write failed, console only from now: ${String(error)}`));
    }
  }

  // A console that fails (e.g. no /dev/console) must not turn logging into a crash loop.
  function safeConsole(text: string): void {
    try {
      writeConsole(text);
    } catch {
      // Nowhere left to report it.
    }
  }

  function log(level: Level, message: string): void {
    safeConsole(formatConsole(message));
    toKmsg(formatKmsg(level, message));
  }

  return {
    info: (message) => log('info', message),
    warn: (message) => log('warn', message),
    error: (message) => log('error', message),
    consoleOnly: (message) => safeConsole(formatConsole(message)),
    attachKmsg(writeRecord) {
      kmsg = writeRecord;
      const pending = backlog ?? [];
      backlog = undefined;
      toKmsg(pending);
    },
  };
}
