/**
 * The text of the persisted log files, shared by the device (writing) and the host (`kiln logs` reading them back):
 * each boot starts with a marker line, then one line per message stamped with seconds since boot like dmesg.
 *
 *   -- kiln boot 5c0f…-…: gateway, build 1f2e3d, kiln 0.1.0 --
 *   [    8.123456] info  kiln: mounts: /proc /sys /dev … (3 ms)
 *   [    0.000000] Linux version 6.1.0-…-rt-amd64 …
 */

export interface BootInfo {
  bootId: string;
  name: string;
  buildId: string;
  kilnVersion: string;
}

const MARKER = /^-- kiln boot (\S+): (.*) --$/;

export function bootMarker(boot: BootInfo): string {
  return `-- kiln boot ${boot.bootId}: ${boot.name}, build ${boot.buildId}, kiln ${boot.kilnVersion} --\n`;
}

/** `[    8.123456]`: seconds since boot, microseconds, right-aligned like dmesg. */
export function stamp(seconds: number): string {
  const micros = Math.max(0, Math.round(seconds * 1e6));
  return `[${String(Math.floor(micros / 1e6)).padStart(5)}.${String(micros % 1e6).padStart(6, '0')}]`;
}

/** One line per line of the message, each stamped and tagged with its level. */
export function formatInitEntry(entry: { level: string; message: string; uptime: number }): string {
  const head = `${stamp(entry.uptime)} ${entry.level.padEnd(5)} kiln: `;
  return entry.message
    .split('\n')
    .map((line) => head + line + '\n')
    .join('');
}

/**
 * A /dev/kmsg record (`6,339,5140900,-;text` then optional ` KEY=value` lines) as a kernel.log line. The kernel
 * escapes control characters in the text as `\xNN`, so one record is one line. Undefined for a malformed record.
 */
export function formatKmsgRecord(record: string): string | undefined {
  const semicolon = record.indexOf(';');
  if (semicolon < 0) return undefined;
  const fields = record.slice(0, semicolon).split(',');
  const micros = Number(fields[2]);
  if (fields.length < 3 || !Number.isFinite(micros)) return undefined;
  const text = record.slice(semicolon + 1).split('\n')[0]!;
  return `${stamp(micros / 1e6)} ${text}\n`;
}

/** A /dev/kmsg record's sequence number (its second field): consecutive unless records were lost. */
export function kmsgSequence(record: string): number | undefined {
  const seq = Number(record.slice(0, record.indexOf(';')).split(',')[1]);
  return Number.isSafeInteger(seq) ? seq : undefined;
}

export interface BootLog {
  /** The boot id from the marker; undefined for lines before the first marker (a file that rotated mid-boot). */
  bootId?: string;
  /** The marker's description: "gateway, build 1f2e3d, kiln 0.1.0". */
  description?: string;
  lines: string[];
}

/** Splits a log's text (oldest file first, concatenated) into boots at the marker lines. */
export function splitBoots(text: string): BootLog[] {
  const boots: BootLog[] = [];
  let current: BootLog | undefined;
  for (const line of text.split('\n')) {
    const marker = MARKER.exec(line);
    if (marker) {
      // A boot whose files rotated still has one marker per file: continue the same boot.
      if (current?.bootId === marker[1]) continue;
      current = { bootId: marker[1], description: marker[2], lines: [] };
      boots.push(current);
      continue;
    }
    if (line === '') continue;
    if (current === undefined) {
      current = { lines: [] };
      boots.push(current);
    }
    current.lines.push(line);
  }
  return boots;
}
