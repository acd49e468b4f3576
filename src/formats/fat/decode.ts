import { DecodeError } from '../../util/errors.js';
import {
  ATTR,
  BOOT_SECTOR_SIGNATURE,
  BPB,
  DIRENT,
  DIRENT_DELETED,
  DIRENT_END,
  DIRENT_KANJI_E5,
  DIRENT_SIZE,
  FAT_END_OF_CHAIN_MIN,
  FAT_ENTRY_MASK,
  FAT_ENTRY_SIZE,
  FIRST_CLUSTER,
  FSINFO,
  FSINFO_LEAD_SIGNATURE,
  FSINFO_STRUCT_SIGNATURE,
  FSINFO_TRAIL_SIGNATURE,
  LFN,
  LFN_LAST,
  LFN_UNIT_OFFSETS,
  LFN_UNITS_PER_ENTRY,
  MIN_CLUSTERS_FAT32,
  NT_CASE_LOWER_BASE,
  NT_CASE_LOWER_EXT,
} from './_constants.js';
import { clusterBytes, clusterOffset, type Fat32Geometry } from './geometry.js';
import { fromShortNameField, lfnChecksum } from './names.js';

const FORMAT = 'FAT32';

/** A file or directory found on the volume. */
export interface Fat32Entry {
  /** `/`-separated path from the root, by long name where there is one. */
  path: string;
  /** The 8.3 name as stored, with a dot: `BOOTX64.EFI`, `SYSTEM~1.EFI`. */
  shortName: string;
  /** The VFAT long name, if the entry has one. */
  longName?: string;
  kind: 'file' | 'dir';
  firstCluster: number;
  /** File contents (a view into the volume); empty for directories. */
  data: Uint8Array;
}

/** A decoded FAT32 volume. */
export interface Fat32Volume {
  geometry: Fat32Geometry;
  volumeId: number;
  /** Label from the root directory (falling back to the boot sector), trailing spaces removed. */
  label?: string;
  hiddenSectors: number;
  /** The FSInfo sector's free cluster count. */
  fsInfoFreeClusters: number;
  /** Clusters not referenced by any chain, counted from the FAT. */
  freeClusters: number;
  /** Every file and directory, parents before children, in directory order. */
  entries: Fat32Entry[];
}

/**
 * Reads a FAT32 volume, checking the boot sector, its backup, FSInfo, that the FATs agree, and every cluster
 * chain (in range, not shared, as long as the file). Throws `DecodeError` naming the bad structure.
 * Meant for tests and inspection; it reads all of `bytes`.
 * @example decodeFat32(encodeFat32({ sizeBytes: 40 << 20, files })).entries.map((e) => e.path)
 */
export function decodeFat32(bytes: Uint8Array): Fat32Volume {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { geometry, rootCluster, fsInfoSector, backupBootSector } = decodeBootSector(bytes, view);
  const g = geometry;
  const sector = g.bytesPerSector;

  if (backupBootSector !== 0) {
    const backup = backupBootSector * sector;
    const mismatch = firstDifference(bytes, 0, backup, sector);
    if (mismatch >= 0) throw new DecodeError(FORMAT, 'backup boot sector', backup + mismatch, 'differs from the boot sector');
  }
  const fsInfo = fsInfoSector * sector;
  const signatures: [number, number, string][] = [
    [FSINFO.leadSignature, FSINFO_LEAD_SIGNATURE, 'lead'],
    [FSINFO.structSignature, FSINFO_STRUCT_SIGNATURE, 'struct'],
    [FSINFO.trailSignature, FSINFO_TRAIL_SIGNATURE, 'trail'],
  ];
  for (const [at, want, which] of signatures) {
    if (view.getUint32(fsInfo + at, true) !== want) throw new DecodeError(FORMAT, 'FSInfo sector', fsInfo + at, `bad ${which} signature`);
  }

  const fatBytes = g.sectorsPerFat * sector;
  const fatStart = g.reservedSectors * sector;
  for (let copy = 1; copy < g.fatCount; copy++) {
    const mismatch = firstDifference(bytes, fatStart, fatStart + copy * fatBytes, fatBytes);
    if (mismatch >= 0) throw new DecodeError(FORMAT, `FAT ${copy + 1}`, fatStart + copy * fatBytes + mismatch, 'differs from FAT 1');
  }

  const reader = new VolumeReader(bytes, view, g, fatStart);
  const entries: Fat32Entry[] = [];
  let label: string | undefined;
  const walk = (cluster: number, prefix: string, isRoot: boolean): void => {
    const dir = reader.readChain(cluster, prefix || '/', undefined);
    for (const entry of reader.readDirectory(dir, isRoot)) {
      if (entry.kind === 'label') {
        label = entry.shortField.trimEnd();
        continue;
      }
      const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      if (entry.kind === 'dir') {
        entries.push({ ...entry.info, path, kind: 'dir', data: new Uint8Array(0) });
        if (entry.info.firstCluster < FIRST_CLUSTER) {
          throw new DecodeError(FORMAT, 'directory entry', entry.offset, `directory "${path}" has no cluster`);
        }
        walk(entry.info.firstCluster, path, false);
      } else {
        const data = entry.size === 0 ? new Uint8Array(0) : reader.readChain(entry.info.firstCluster, path, entry.size).data;
        entries.push({ ...entry.info, path, kind: 'file', data });
      }
    }
  };
  walk(rootCluster, '', true);

  const bootLabel = new TextDecoder('latin1').decode(bytes.subarray(BPB.volumeLabel, BPB.volumeLabel + 11)).trimEnd();
  return {
    geometry: g,
    volumeId: view.getUint32(BPB.volumeId, true),
    label: label ?? (bootLabel === 'NO NAME' ? undefined : bootLabel),
    hiddenSectors: view.getUint32(BPB.hiddenSectors, true),
    fsInfoFreeClusters: view.getUint32(fsInfo + FSINFO.freeCount, true),
    freeClusters: reader.countFree(),
    entries,
  };
}

function decodeBootSector(bytes: Uint8Array, view: DataView) {
  const fail = (at: number, reason: string): never => {
    throw new DecodeError(FORMAT, 'boot sector', at, reason);
  };
  if (bytes.length < 512) fail(0, `volume of ${bytes.length} bytes is shorter than a boot sector`);
  if (view.getUint16(BPB.signature, true) !== BOOT_SECTOR_SIGNATURE) fail(BPB.signature, 'missing the 0x55 0xAA signature');
  if (!((bytes[0] === 0xeb && bytes[2] === 0x90) || bytes[0] === 0xe9)) fail(BPB.jump, 'no x86 jump instruction');
  const bytesPerSector = view.getUint16(BPB.bytesPerSector, true);
  if (![512, 1024, 2048, 4096].includes(bytesPerSector)) fail(BPB.bytesPerSector, `bad sector size ${bytesPerSector}`);
  const sectorsPerCluster = view.getUint8(BPB.sectorsPerCluster);
  if (![1, 2, 4, 8, 16, 32, 64, 128].includes(sectorsPerCluster)) fail(BPB.sectorsPerCluster, `bad sectors per cluster ${sectorsPerCluster}`);
  const reservedSectors = view.getUint16(BPB.reservedSectors, true);
  if (reservedSectors < 2) fail(BPB.reservedSectors, `${reservedSectors} reserved sectors cannot hold FSInfo`);
  const fatCount = view.getUint8(BPB.fatCount);
  if (fatCount < 1) fail(BPB.fatCount, 'no FAT');
  if (view.getUint16(BPB.rootEntries, true) !== 0 || view.getUint16(BPB.sectorsPerFat16, true) !== 0) {
    fail(BPB.rootEntries, 'not FAT32 (FAT12/16 root directory or FAT size set)');
  }
  const totalSectors = view.getUint32(BPB.totalSectors32, true);
  if (totalSectors * bytesPerSector > bytes.length) {
    fail(BPB.totalSectors32, `${totalSectors} sectors do not fit in the ${bytes.length} bytes given`);
  }
  const sectorsPerFat = view.getUint32(BPB.sectorsPerFat32, true);
  const dataSectors = totalSectors - reservedSectors - fatCount * sectorsPerFat;
  if (sectorsPerFat === 0 || dataSectors <= 0) fail(BPB.sectorsPerFat32, `bad FAT size ${sectorsPerFat}`);
  const clusterCount = Math.floor(dataSectors / sectorsPerCluster);
  if (clusterCount < MIN_CLUSTERS_FAT32) fail(BPB.totalSectors32, `${clusterCount} clusters is too few for FAT32 (${MIN_CLUSTERS_FAT32} or more)`);
  if ((sectorsPerFat * bytesPerSector) / FAT_ENTRY_SIZE < clusterCount + FIRST_CLUSTER) {
    fail(BPB.sectorsPerFat32, `FAT of ${sectorsPerFat} sectors cannot map ${clusterCount} clusters`);
  }
  const rootCluster = view.getUint32(BPB.rootCluster, true);
  if (rootCluster < FIRST_CLUSTER || rootCluster >= clusterCount + FIRST_CLUSTER) fail(BPB.rootCluster, `bad root cluster ${rootCluster}`);
  const fsInfoSector = view.getUint16(BPB.fsInfoSector, true);
  if (fsInfoSector === 0 || fsInfoSector >= reservedSectors) fail(BPB.fsInfoSector, `bad FSInfo sector ${fsInfoSector}`);
  const backupBootSector = view.getUint16(BPB.backupBootSector, true);
  if (backupBootSector >= reservedSectors) fail(BPB.backupBootSector, `bad backup boot sector ${backupBootSector}`);
  const geometry: Fat32Geometry = {
    bytesPerSector,
    sectorsPerCluster,
    reservedSectors,
    fatCount,
    sectorsPerFat,
    totalSectors,
    clusterCount,
    sectorsPerTrack: view.getUint16(BPB.sectorsPerTrack, true),
    heads: view.getUint16(BPB.heads, true),
  };
  return { geometry, rootCluster, fsInfoSector, backupBootSector };
}

interface Chain {
  data: Uint8Array;
  clusters: number[];
}

type RawEntry =
  | { kind: 'label'; shortField: string }
  | { kind: 'file' | 'dir'; name: string; size: number; offset: number; info: Omit<Fat32Entry, 'path' | 'kind' | 'data'> };

/** Follows cluster chains and parses directories, remembering which clusters are taken. */
class VolumeReader {
  private readonly owner = new Map<number, string>();
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly g: Fat32Geometry;
  private readonly fatStart: number;

  constructor(bytes: Uint8Array, view: DataView, g: Fat32Geometry, fatStart: number) {
    this.bytes = bytes;
    this.view = view;
    this.g = g;
    this.fatStart = fatStart;
  }

  private next(cluster: number): number {
    return this.view.getUint32(this.fatStart + cluster * FAT_ENTRY_SIZE, true) & FAT_ENTRY_MASK;
  }

  /** The contents of the chain starting at `first`: exactly `size` bytes of a file, or a whole directory. */
  readChain(first: number, path: string, size: number | undefined): Chain {
    const per = clusterBytes(this.g);
    const clusters: number[] = [];
    for (let c = first; ;) {
      const fatOffset = this.fatStart + c * FAT_ENTRY_SIZE;
      if (c < FIRST_CLUSTER || c >= this.g.clusterCount + FIRST_CLUSTER) {
        throw new DecodeError(FORMAT, 'FAT', fatOffset, `cluster ${c} in the chain of "${path}" is out of range`);
      }
      const other = this.owner.get(c);
      if (other !== undefined) {
        throw new DecodeError(FORMAT, 'FAT', fatOffset, `cluster ${c} of "${path}" is also used by "${other}"`);
      }
      this.owner.set(c, path);
      clusters.push(c);
      const next = this.next(c);
      if (next >= FAT_END_OF_CHAIN_MIN) break;
      if (next === 0) throw new DecodeError(FORMAT, 'FAT', fatOffset, `chain of "${path}" runs into free cluster ${c}`);
      c = next;
    }
    if (size !== undefined && clusters.length !== Math.ceil(size / per)) {
      throw new DecodeError(
        FORMAT,
        'FAT',
        this.fatStart + first * FAT_ENTRY_SIZE,
        `"${path}" is ${size} bytes but its chain has ${clusters.length} clusters of ${per}`,
      );
    }
    const out = new Uint8Array(clusters.length * per);
    clusters.forEach((c, i) => out.set(this.bytes.subarray(clusterOffset(this.g, c), clusterOffset(this.g, c) + per), i * per));
    return { data: size === undefined ? out : out.subarray(0, size), clusters };
  }

  readDirectory(chain: Chain, isRoot: boolean): RawEntry[] {
    const dir = chain.data;
    const view = new DataView(dir.buffer, dir.byteOffset, dir.byteLength);
    const per = clusterBytes(this.g);
    // Errors name the entry's offset in the volume, not in the gathered directory.
    const volumeOffset = (at: number): number => clusterOffset(this.g, chain.clusters[Math.floor(at / per)]) + (at % per);
    const out: RawEntry[] = [];
    let longParts: string[] = [];
    let expected = 0;
    let checksum = -1;
    for (let at = 0; at + DIRENT_SIZE <= dir.length; at += DIRENT_SIZE) {
      const first = dir[at];
      if (first === DIRENT_END) break;
      if (first === DIRENT_DELETED) {
        longParts = [];
        continue;
      }
      const attributes = dir[at + DIRENT.attributes];
      if ((attributes & 0x3f) === ATTR.longName) {
        const order = first & ~LFN_LAST;
        if (first & LFN_LAST) {
          longParts = [];
          expected = order;
          checksum = dir[at + LFN.checksum];
        } else if (order !== expected - 1 || dir[at + LFN.checksum] !== checksum) {
          throw new DecodeError(FORMAT, 'long name entry', volumeOffset(at), `out of sequence (part ${order} after ${expected})`);
        }
        expected = order;
        longParts.unshift(readLongNamePart(view, at));
        continue;
      }
      const field = String.fromCharCode(first === DIRENT_KANJI_E5 ? 0xe5 : first, ...dir.subarray(at + 1, at + 11));
      if (attributes & ATTR.volumeId) {
        if (isRoot) out.push({ kind: 'label', shortField: field });
        longParts = [];
        continue;
      }
      let longName: string | undefined;
      if (longParts.length > 0) {
        const want = lfnChecksum(dir.subarray(at, at + 11));
        if (expected !== 1 || checksum !== want) {
          throw new DecodeError(
            FORMAT,
            'directory entry',
            volumeOffset(at),
            `long name checksum 0x${checksum.toString(16)} does not match short name "${field}" (0x${want.toString(16)})`,
          );
        }
        const joined = longParts.join('');
        const end = joined.indexOf('\0');
        longName = end < 0 ? joined : joined.slice(0, end);
        longParts = [];
      }
      if (field === '.          ' || field === '..         ') continue;
      const ntCase = dir[at + DIRENT.ntCase];
      const shortName = fromShortNameField(field);
      const display = fromShortNameField(
        (ntCase & NT_CASE_LOWER_BASE ? field.slice(0, 8).toLowerCase() : field.slice(0, 8)) +
          (ntCase & NT_CASE_LOWER_EXT ? field.slice(8).toLowerCase() : field.slice(8)),
      );
      const firstCluster = (view.getUint16(at + DIRENT.clusterHigh, true) << 16) | view.getUint16(at + DIRENT.clusterLow, true);
      out.push({
        kind: attributes & ATTR.directory ? 'dir' : 'file',
        name: longName ?? display,
        size: view.getUint32(at + DIRENT.size, true),
        offset: volumeOffset(at),
        info: { shortName, ...(longName === undefined ? {} : { longName }), firstCluster },
      });
    }
    return out;
  }

  countFree(): number {
    let free = 0;
    for (let c = FIRST_CLUSTER; c < this.g.clusterCount + FIRST_CLUSTER; c++) if (this.next(c) === 0) free++;
    return free;
  }
}

function readLongNamePart(view: DataView, at: number): string {
  const units: number[] = [];
  for (const offset of LFN_UNIT_OFFSETS) units.push(view.getUint16(at + offset, true));
  return String.fromCharCode(...units.slice(0, LFN_UNITS_PER_ENTRY)).replace(/\uffff+$/, '');
}

function firstDifference(bytes: Uint8Array, a: number, b: number, length: number): number {
  for (let i = 0; i < length; i++) if (bytes[a + i] !== bytes[b + i]) return i;
  return -1;
}
