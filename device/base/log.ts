/**
 * Boot log: every line goes to the console (the init's stdout, /dev/console) and, once /dev is mounted, to the
 * kernel log through /dev/kmsg, so `dmesg` keeps the boot record after the console has scrolled away, and, once the
 * logs stage has opened it, to a file on a partition (see device/logs).
 *
 * Lines logged before /dev/kmsg or the file can be opened are kept and replayed when each is attached. Lines below
 * the level (settings().log.level, `info` until the logs stage sets it) go nowhere.
 */

export type Level = 'debug' | 'info' | 'warn' | 'error';

const SEVERITY: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** syslog priorities as /dev/kmsg reads them from the `<N>` prefix. */
const KMSG_PRIORITY: Record<Level, number> = { debug: 7, info: 6, warn: 4, error: 3 };

/** The kernel rejects records over ~1 KiB (LOG_LINE_MAX); long lines are cut rather than lost. */
const KMSG_MAX_TEXT = 900;

/** Enough for every boot line before /dev exists; a runaway logger must not grow memory without bound. */
const BACKLOG_LIMIT = 256;

export const PREFIX = 'kiln: ';

/** One logged message, as a file sink gets it. */
export interface LogEntry {
  level: Level;
  message: string;
  /** Seconds since boot (CLOCK_MONOTONIC, the kernel log's clock) when it was logged. */
  uptime: number;
}

export interface Log {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** Console only: for lines that are a contract on the console and must appear there exactly once. */
  consoleOnly(message: string): void;
  /** Start copying to the kernel log; `writeRecord` gets one record per call (one write(2) on /dev/kmsg). */
  attachKmsg(writeRecord: (record: string) => void): void;
  /** Lines below `level` are dropped from now on (console, kernel log and file alike). */
  setLevel(level: Level): void;
  level(): Level;
  /** Start copying to a file sink, replaying what was logged since boot; `detachFile` stops it (at shutdown). */
  attachFile(write: (entry: LogEntry) => void): void;
  detachFile(): void;
}

/** Seconds since boot on the clock the kernel stamps its log with (libuv's hrtime is CLOCK_MONOTONIC). */
export function monotonicSeconds(): number {
  return Number(process.hrtime.bigint() / 1000n) / 1e6;
}

/** Console text for one message: every line of it prefixed, so multi-line stacks stay grep-able. */
export function formatConsole(message: string): string {
  return message
    .split('\n')
    .map((line) => PREFIX + line + '\n')
    .join('');
}

/** /dev/kmsg records for one message: one record per line, each with its priority. */
export function formatKmsg(level: Level, message: string): string[] {
  return message.split('\n').map((line) => `<${KMSG_PRIORITY[level]}>${PREFIX}${line.slice(0, KMSG_MAX_TEXT)}`);
}

export function createLog(writeConsole: (text: string) => void, uptime: () => number = monotonicSeconds): Log {
  let kmsg: ((record: string) => void) | undefined;
  let backlog: string[] | undefined = [];
  let file: ((entry: LogEntry) => void) | undefined;
  let fileBacklog: LogEntry[] | undefined = [];
  let threshold: Level = 'info';

  function toFile(entry: LogEntry): void {
    if (file === undefined) {
      if (fileBacklog !== undefined && fileBacklog.length < BACKLOG_LIMIT) fileBacklog.push(entry);
      return;
    }
    try {
      file(entry);
    } catch (error) {
      file = undefined;
      safeConsole(formatConsole(`log file write failed, not persisting the log from now: ${String(error)}`));
    }
  }

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
    if (SEVERITY[level] < SEVERITY[threshold]) return;
    safeConsole(formatConsole(message));
    toKmsg(formatKmsg(level, message));
    toFile({ level, message, uptime: uptime() });
  }

  return {
    debug: (message) => log('debug', message),
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
    setLevel: (level) => void (threshold = level),
    level: () => threshold,
    attachFile(write) {
      file = write;
      const pending = fileBacklog ?? [];
      fileBacklog = undefined;
      for (const entry of pending) toFile(entry);
    },
    detachFile() {
      file = undefined;
      fileBacklog = undefined;
    },
  };
}
