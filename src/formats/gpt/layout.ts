import { DEFAULT_ALIGNMENT, GPT_ENTRY_COUNT, GPT_NAME_UNITS, HEAD_SECTORS, SECTOR_SIZE, TAIL_SECTORS } from './_constants.js';
import { NULL_GUID, normalizeGuid, seededGuid } from './guid.js';
import type { GptDisk, GptLayout, GptPartition } from './types.js';

/**
 * Places the partitions of `layout` on the disk: fills in default offsets (1 MiB aligned), GUIDs and the disk
 * size, and checks that every partition fits between the primary and backup GPT without overlapping another.
 * Throws `RangeError` for sizes and offsets that do not work, `TypeError` for malformed GUIDs and names.
 * @example resolveGptLayout({ partitions: [{ type: GptPartitionType.efiSystem, name: 'ESP', sizeBytes: 64 << 20 }] })
 *   // → diskSizeBytes 66 MiB, ESP at 1 MiB
 */
export function resolveGptLayout(layout: GptLayout): GptDisk {
  if (layout.partitions.length > GPT_ENTRY_COUNT) {
    throw new RangeError(`A GPT holds at most ${GPT_ENTRY_COUNT} partitions, not ${layout.partitions.length}`);
  }
  const firstUsableLba = HEAD_SECTORS;
  const partitions: GptPartition[] = [];
  let nextOffset = alignUp(firstUsableLba * SECTOR_SIZE, DEFAULT_ALIGNMENT);
  layout.partitions.forEach((spec, i) => {
    const number = i + 1;
    const what = `GPT partition ${number} "${spec.name}"`;
    checkSectorMultiple(`${what} size`, spec.sizeBytes, false);
    if (spec.offsetBytes !== undefined) checkSectorMultiple(`${what} offset`, spec.offsetBytes, true);
    if (spec.name.length > GPT_NAME_UNITS) {
      throw new TypeError(`${what}: name is ${spec.name.length} UTF-16 code units; at most ${GPT_NAME_UNITS} fit`);
    }
    const attributes = spec.attributes ?? 0n;
    if (attributes < 0n || attributes >= 1n << 64n) throw new RangeError(`${what}: attributes do not fit 64 bits`);
    const type = normalizeGuid(spec.type);
    if (type === NULL_GUID) throw new TypeError(`${what}: the all-zero type GUID marks an unused entry`);
    const offsetBytes = spec.offsetBytes ?? nextOffset;
    nextOffset = alignUp(offsetBytes + spec.sizeBytes, DEFAULT_ALIGNMENT);
    const firstLba = offsetBytes / SECTOR_SIZE;
    partitions.push({
      number,
      type,
      name: spec.name,
      guid: spec.guid === undefined ? seededGuid(layout.seed, `partition ${number}`) : normalizeGuid(spec.guid),
      attributes,
      firstLba,
      lastLba: firstLba + spec.sizeBytes / SECTOR_SIZE - 1,
      offsetBytes,
      sizeBytes: spec.sizeBytes,
    });
  });

  const partitionsEnd = Math.max(firstUsableLba, ...partitions.map((p) => p.lastLba + 1)) * SECTOR_SIZE;
  const diskSizeBytes = layout.diskSizeBytes ?? alignUp(partitionsEnd + TAIL_SECTORS * SECTOR_SIZE, DEFAULT_ALIGNMENT);
  checkSectorMultiple('GPT disk size', diskSizeBytes, false);
  const diskSectors = diskSizeBytes / SECTOR_SIZE;
  if (diskSectors < HEAD_SECTORS + TAIL_SECTORS) {
    throw new RangeError(
      `GPT disk size ${diskSizeBytes} bytes is too small: the primary and backup GPT alone take ${(HEAD_SECTORS + TAIL_SECTORS) * SECTOR_SIZE}`,
    );
  }
  const lastUsableLba = diskSectors - TAIL_SECTORS - 1;
  const problem = findPlacementProblem(partitions, firstUsableLba, lastUsableLba, diskSizeBytes);
  if (problem !== undefined) throw new RangeError(problem);
  return {
    diskSizeBytes,
    diskGuid: layout.diskGuid === undefined ? seededGuid(layout.seed, 'disk') : normalizeGuid(layout.diskGuid),
    firstUsableLba,
    lastUsableLba,
    partitions,
  };
}

/**
 * The first reason the partitions cannot coexist on the disk (outside the usable LBAs, or overlapping), or
 * `undefined`. Shared by the encoder (which throws `RangeError`) and the decoder (`DecodeError`).
 */
export function findPlacementProblem(
  partitions: readonly GptPartition[],
  firstUsableLba: number,
  lastUsableLba: number,
  diskSizeBytes: number,
): string | undefined {
  for (const p of partitions) {
    if (p.lastLba < p.firstLba) return `${describe(p)} ends before it starts`;
    if (p.firstLba < firstUsableLba) {
      return `${describe(p)} starts inside the primary GPT (first usable LBA is ${firstUsableLba})`;
    }
    if (p.lastLba > lastUsableLba) {
      return `${describe(p)} does not fit: the last usable LBA of a ${formatSize(diskSizeBytes)} disk is ${lastUsableLba}`;
    }
  }
  const byStart = [...partitions].sort((a, b) => a.firstLba - b.firstLba || a.number - b.number);
  for (let i = 1; i < byStart.length; i++) {
    const [before, after] = [byStart[i - 1], byStart[i]];
    if (after.firstLba <= before.lastLba) {
      const [later, earlier] = after.number > before.number ? [after, before] : [before, after];
      return `${describe(later)} overlaps ${describe(earlier)}`;
    }
  }
  return undefined;
}

function describe(p: GptPartition): string {
  return `GPT partition ${p.number} "${p.name}" (LBA ${p.firstLba}..${p.lastLba})`;
}

function checkSectorMultiple(what: string, value: number, zeroOk: boolean): void {
  if (!Number.isSafeInteger(value) || value < 0 || (value === 0 && !zeroOk) || value % SECTOR_SIZE !== 0) {
    throw new RangeError(`${what} must be a ${zeroOk ? 'non-negative' : 'positive'} multiple of ${SECTOR_SIZE}, not ${value}`);
  }
}

function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

/** "64 MiB" for whole MiB, bytes otherwise. */
export function formatSize(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes}-byte`;
}
