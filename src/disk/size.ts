/**
 * Sizes as configs and `--size` write them: "64M", "1G", "512MiB", "1.5G". Units are binary (M = MiB), as in
 * sgdisk, parted and truncate: a "64M" partition is 64 MiB.
 */

export const MiB = 1024 * 1024;
const UNITS: Record<string, number> = { K: 1024, M: MiB, G: 1024 * MiB, T: 1024 * 1024 * MiB };
const SIZE = /^(\d+(?:\.\d+)?)\s*([KMGT])(?:i?B)?$/i;

/**
 * Bytes for `text`, or undefined when it is not a size. A number without a unit is bytes.
 * @example parseSize('64M') // 67108864
 */
export function parseSize(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const match = SIZE.exec(trimmed);
  if (match === null) return undefined;
  const bytes = Math.round(Number(match[1]) * UNITS[match[2].toUpperCase()]);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** "64 MiB", "1 GiB", "1.5 GiB", "4 KiB", "100 bytes": exact where it can be, one decimal otherwise. */
export function formatSize(bytes: number): string {
  for (const [unit, size] of [
    ['TiB', UNITS.T],
    ['GiB', UNITS.G],
    ['MiB', UNITS.M],
    ['KiB', UNITS.K],
  ] as const) {
    if (bytes >= size) {
      const value = bytes / size;
      return `${Number.isInteger(value) ? value : value.toFixed(1)} ${unit}`;
    }
  }
  return `${bytes} bytes`;
}

export function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

export function alignDown(value: number, alignment: number): number {
  return Math.floor(value / alignment) * alignment;
}
