import { LFN_MAX_UNITS } from './_constants.js';

/** Characters allowed in a short (8.3) name besides A–Z and 0–9. */
const SHORT_NAME_CHAR = /[A-Z0-9!#$%&'()@^_`{}~-]/;
const SHORT_NAME = /^[A-Z0-9!#$%&'()@^_`{}~-]{1,8}(\.[A-Z0-9!#$%&'()@^_`{}~-]{1,3})?$/;
/** Not allowed in long names either (plus control characters). */
const LONG_NAME_FORBIDDEN = /["*/:<>?\\|\u0000-\u001f]/;

/**
 * True if `name` can be stored as a short name alone: upper-case 8.3 from the portable character set.
 * Any other name gets long-name entries too.
 * @example isShortName('BOOTX64.EFI') // true
 * @example isShortName('bootx64.efi') // false
 */
export function isShortName(name: string): boolean {
  return SHORT_NAME.test(name);
}

/** Why `name` cannot be a file or directory name on FAT, or `undefined` if it can. */
export function longNameProblem(name: string): string | undefined {
  if (name === '') return 'empty name';
  if (name === '.' || name === '..') return `"${name}" is reserved`;
  if (name.length > LFN_MAX_UNITS) return `longer than ${LFN_MAX_UNITS} UTF-16 code units`;
  const bad = LONG_NAME_FORBIDDEN.exec(name);
  if (bad) return `character ${JSON.stringify(bad[0])} is not allowed`;
  // Windows silently drops trailing dots and spaces, so such a name would not round-trip.
  if (/[. ]$/.test(name)) return 'ends with a dot or space';
  return undefined;
}

/** "BOOTX64.EFI" → the 11-character on-disk form "BOOTX64 EFI". */
export function toShortNameField(name: string): string {
  const dot = name.indexOf('.');
  const [base, ext] = dot < 0 ? [name, ''] : [name.slice(0, dot), name.slice(dot + 1)];
  return base.padEnd(8, ' ') + ext.padEnd(3, ' ');
}

/** The 11-character on-disk form "BOOTX64 EFI" → "BOOTX64.EFI". */
export function fromShortNameField(field: string): string {
  const base = field.slice(0, 8).trimEnd();
  const ext = field.slice(8, 11).trimEnd();
  return ext === '' ? base : `${base}.${ext}`;
}

/**
 * Picks a short name for `longName` that is not in `taken` (on-disk 11-character forms), the way Windows
 * does: upper-case it, replace characters short names cannot hold with `_`, drop spaces and inner dots, keep
 * up to 8 + 3 characters, and add a `~N` tail when anything was lost or the result is taken.
 * @example generateShortName('systemd-bootx64.efi', new Set()) // 'SYSTEM~1EFI'
 * @example generateShortName('readme.txt', new Set()) // 'README  TXT' (nothing lost, so no tail)
 */
export function generateShortName(longName: string, taken: ReadonlySet<string>): string {
  let lossy = false;
  const convert = (part: string): string => {
    let out = '';
    for (const ch of part.toUpperCase()) {
      if (ch === ' ' || ch === '.') {
        lossy = true; // dropped
      } else if (SHORT_NAME_CHAR.test(ch)) {
        out += ch;
      } else {
        out += '_';
        lossy = true;
      }
    }
    return out;
  };
  const trimmed = longName.replace(/^\.+/, '');
  if (trimmed !== longName) lossy = true;
  const dot = trimmed.lastIndexOf('.');
  const base = convert(dot < 0 ? trimmed : trimmed.slice(0, dot));
  const ext = convert(dot < 0 ? '' : trimmed.slice(dot + 1));
  if (base.length > 8 || ext.length > 3) lossy = true;
  const extField = ext.slice(0, 3).padEnd(3, ' ');
  const basis = base === '' ? '_' : base;

  if (!lossy) {
    const candidate = basis.padEnd(8, ' ') + extField;
    if (!taken.has(candidate)) return candidate;
  }
  for (let n = 1; n < 1_000_000; n++) {
    const tail = `~${n}`;
    const candidate = (basis.slice(0, 8 - tail.length) + tail).padEnd(8, ' ') + extField;
    if (!taken.has(candidate)) return candidate;
  }
  throw new RangeError(`No free short name for "${longName}": a directory holds at most 999999 like it`);
}

/**
 * The checksum each long-name entry carries of the 11-byte short name it belongs to, so that a driver that
 * renamed the short entry without knowing long names orphans them detectably.
 */
export function lfnChecksum(shortNameField: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < 11; i++) sum = ((((sum & 1) << 7) | (sum >> 1)) + shortNameField[i]) & 0xff;
  return sum;
}
