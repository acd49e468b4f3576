/**
 * Hooks the boot log up to the kernel log (/dev/kmsg), so `dmesg` keeps kiln's lines.
 *
 * The kernel echoes kernel-log records of priority below console_loglevel (7 by default) to the console, where
 * kiln already writes the same lines on stdout. On PREEMPT_RT that echo is printed later by a kernel thread, so it
 * both doubles every line and cuts into the middle of the init's own lines (seen in QEMU: "ready in 123 ms[ 30.29]
 * kiln: ..."). So the init lowers console_loglevel to 6: kiln's <6> records stay out of the console echo, while kernel
 * records of priority 0-5 (notice and worse) still show. A console level chosen on the command line is left alone.
 */
import type { HostFs } from '../sys/host-fs.ts';
import type { Log } from '../base/log.ts';

/** Highest console_loglevel at which <6> (info) records are not echoed. */
export const KILN_CONSOLE_LOGLEVEL = 6;

/** Command-line words by which the user has chosen what the console shows. */
const USER_CONSOLE_WORDS = /^(loglevel=.*|debug|quiet|ignore_loglevel)$/;

/**
 * The console_loglevel to set, or undefined to leave it: only lowered, and only when the command line does not
 * choose. `printk` is the text of /proc/sys/kernel/printk ("7\t4\t1\t7": console, default, minimum, boot-time).
 */
export function consoleLoglevelToSet(printk: string, cmdlineWords: readonly string[]): number | undefined {
  if (cmdlineWords.some((word) => USER_CONSOLE_WORDS.test(word))) return undefined;
  const current = Number(printk.trim().split(/\s+/)[0]);
  return Number.isInteger(current) && current > KILN_CONSOLE_LOGLEVEL ? KILN_CONSOLE_LOGLEVEL : undefined;
}

/** Open /dev/kmsg and copy the log there; returns a detail for the stage line. */
export function attachKernelLog(fs: HostFs, log: Log, cmdlineWords: readonly string[]): string {
  // The kernel rate-limits /dev/kmsg writers by default (10 lines per 5 s) and would drop most boot lines.
  try {
    fs.writeText('/proc/sys/kernel/printk_devkmsg', 'on\n');
  } catch {
    // Locked by printk.devkmsg= on the command line: keep that choice.
  }
  let printk = '';
  try {
    printk = fs.readText('/proc/sys/kernel/printk');
  } catch {
    // No printk sysctl: nothing to lower.
  }
  const level = consoleLoglevelToSet(printk, cmdlineWords);
  // Writing one number sets only console_loglevel.
  if (level !== undefined) fs.writeText('/proc/sys/kernel/printk', `${level}\n`);
  const fd = fs.openWrite('/dev/kmsg');
  log.attachKmsg((record) => fs.write(fd, record));
  return `/dev/kmsg${level === undefined ? '' : `, console loglevel ${level}`}`;
}
