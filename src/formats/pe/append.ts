import { KilnError } from '../../util/errors.js';
import {
  alignUp,
  COFF,
  COFF_SYMBOL_SIZE,
  hex,
  IMAGE_FILE_LOCAL_SYMS_STRIPPED,
  IMAGE_SCN_CNT_INITIALIZED_DATA,
  IMAGE_SCN_MEM_READ,
  OPT,
  SECTION,
  SECTION_HEADER_SIZE,
  SECTION_NAME_SIZE,
  U32_MAX,
} from './_layout.js';
import { decodePe, type PeImage } from './decode.js';

export interface AddedSection {
  /** 1 to 8 ASCII bytes, e.g. ".linux". */
  name: string;
  data: Uint8Array;
  /** Size once loaded; defaults to `data.length`. Larger reserves zero-filled memory after the data. */
  virtualSize?: number;
  /** Defaults to IMAGE_SCN_CNT_INITIALIZED_DATA | IMAGE_SCN_MEM_READ. */
  characteristics?: number;
}

/**
 * Returns a copy of `image` with `added` appended as new sections, the way systemd's ukify (`pe_add_sections`)
 * does it: each section's data starts at the end of the file rounded up to FileAlignment and is zero-padded to
 * FileAlignment; its VirtualAddress follows the previous section rounded up to SectionAlignment; then
 * NumberOfSections, SizeOfInitializedData (+ each VirtualSize) and SizeOfImage are updated and CheckSum is set
 * to 0 (UEFI does not check it). A COFF symbol table at the very end of the file is dropped first, as ukify does:
 * images should not carry one, and the new sections take its place.
 *
 * Refuses a signed image (the signature would no longer cover the file) and an image whose headers have no room
 * left for the new section headers (moving the sections to make room would break their file offsets).
 *
 * @example
 * const uki = appendSections(stub, [{ name: '.cmdline', data: new TextEncoder().encode('quiet') }]);
 */
export function appendSections(image: Uint8Array, added: readonly AddedSection[]): Uint8Array {
  const pe = decodePe(image);
  if (pe.certificateTable.offset !== 0 || pe.certificateTable.size !== 0) {
    throw new KilnError(
      'PE_SIGNED',
      `Refusing to add sections to a signed PE image (certificate table: ${pe.certificateTable.size} bytes at ${hex(pe.certificateTable.offset)}): the signature would no longer match`,
      { hint: 'Use the unsigned image and sign the result instead.' },
    );
  }
  for (const s of pe.sections) {
    // ukify re-aligns such sections by moving data around; kiln's stubs never need it, so say so instead.
    if (s.sizeOfRawData > 0 && (s.pointerToRawData % pe.fileAlignment !== 0 || s.sizeOfRawData % pe.fileAlignment !== 0)) {
      throw new KilnError(
        'PE_UNALIGNED',
        `PE section "${s.name}" raw data ${hex(s.pointerToRawData)}+${hex(s.sizeOfRawData)} is not aligned to FileAlignment ${hex(pe.fileAlignment)}`,
      );
    }
  }
  for (const a of added) checkName(a.name);
  if (added.length === 0) return image.slice();

  const base = image.subarray(0, lengthWithoutSymbolTable(image, pe));
  const symbolsDropped = base.length !== image.length;

  // The new headers go right after the table, in the padding before the first section's data.
  const tableEnd = pe.offsets.sectionTable + pe.sections.length * SECTION_HEADER_SIZE;
  const rawStarts = pe.sections.filter((s) => s.sizeOfRawData > 0).map((s) => s.pointerToRawData);
  const headerLimit = Math.min(alignUp(pe.sizeOfHeaders, pe.fileAlignment), ...rawStarts);
  const limitReason = `SizeOfHeaders ${hex(pe.sizeOfHeaders)}${rawStarts.length > 0 ? `, first section data at ${hex(Math.min(...rawStarts))}` : ''}`;
  added.forEach((a, i) => {
    const at = tableEnd + i * SECTION_HEADER_SIZE;
    if (at + SECTION_HEADER_SIZE > headerLimit) {
      throw new KilnError(
        'PE_NO_HEADER_ROOM',
        `No room for PE section header "${a.name}" at ${hex(at)}: the headers end at ${hex(headerLimit)} (${limitReason})`,
      );
    }
    if (!isPadding(base, at, at + SECTION_HEADER_SIZE, pe)) {
      throw new KilnError('PE_NO_HEADER_ROOM', `No room for PE section header "${a.name}" at ${hex(at)}: the header padding there is in use (not zero)`);
    }
  });

  // Lay the new sections out after everything already in the file and in memory.
  let fileEnd = alignUp(base.length, pe.fileAlignment);
  let memoryEnd = Math.max(0, ...pe.sections.map((s) => s.virtualAddress + (s.virtualSize || s.sizeOfRawData)));
  const layout = added.map((a) => {
    const virtualSize = a.virtualSize ?? a.data.length;
    const placed = {
      ...a,
      virtualSize,
      virtualAddress: alignUp(memoryEnd, pe.sectionAlignment),
      pointerToRawData: fileEnd,
      sizeOfRawData: alignUp(a.data.length, pe.fileAlignment),
      characteristics: a.characteristics ?? IMAGE_SCN_CNT_INITIALIZED_DATA | IMAGE_SCN_MEM_READ,
    };
    fileEnd = placed.pointerToRawData + placed.sizeOfRawData;
    memoryEnd = placed.virtualAddress + virtualSize;
    return placed;
  });
  const sizeOfImage = alignUp(memoryEnd, pe.sectionAlignment);
  const sizeOfInitializedData = pe.sizeOfInitializedData + layout.reduce((sum, s) => sum + s.virtualSize, 0);
  checkU32('file size', fileEnd);
  checkU32('SizeOfImage', sizeOfImage);
  checkU32('SizeOfInitializedData', sizeOfInitializedData);

  const out = new Uint8Array(fileEnd);
  out.set(base);
  const view = new DataView(out.buffer);
  layout.forEach((s, i) => {
    const at = tableEnd + i * SECTION_HEADER_SIZE;
    out.fill(0, at, at + SECTION_HEADER_SIZE); // padding may have been NOPs (see isPadding): no stray name bytes or counts
    out.set(new TextEncoder().encode(s.name), at + SECTION.name);
    view.setUint32(at + SECTION.virtualSize, s.virtualSize, true);
    view.setUint32(at + SECTION.virtualAddress, s.virtualAddress, true);
    view.setUint32(at + SECTION.sizeOfRawData, s.sizeOfRawData, true);
    view.setUint32(at + SECTION.pointerToRawData, s.pointerToRawData, true);
    view.setUint32(at + SECTION.characteristics, s.characteristics >>> 0, true);
    out.set(s.data, s.pointerToRawData);
  });

  const { coffHeader: coff, optionalHeader: opt } = pe.offsets;
  view.setUint16(coff + COFF.numberOfSections, pe.sections.length + layout.length, true);
  if (symbolsDropped) {
    view.setUint32(coff + COFF.pointerToSymbolTable, 0, true);
    view.setUint32(coff + COFF.numberOfSymbols, 0, true);
    view.setUint16(coff + COFF.characteristics, pe.characteristics | IMAGE_FILE_LOCAL_SYMS_STRIPPED, true);
  }
  view.setUint32(opt + OPT.sizeOfInitializedData, sizeOfInitializedData, true);
  view.setUint32(opt + OPT.sizeOfImage, sizeOfImage, true);
  // An unaligned SizeOfHeaders grew to the alignment above to make room; record that.
  view.setUint32(opt + OPT.sizeOfHeaders, Math.max(pe.sizeOfHeaders, headerLimit), true);
  view.setUint32(opt + OPT.checkSum, 0, true);
  return out;
}

/** The AArch64 NOP instruction (`hint #0`), little-endian. */
const AARCH64_NOP = [0x1f, 0x20, 0x03, 0xd5] as const;

/**
 * Whether header bytes [start, end) are free padding: zeros, or the AArch64 NOPs an assembler writes for an
 * alignment directive in a code section. systemd 252's arm64 stub has a hand-written PE header (gnu-efi style)
 * followed by `.balign 0x1000` in `.text`, so its header padding is NOPs; nothing refers to them (no section and
 * no data directory starts before the first section's data), exactly like zeros.
 */
function isPadding(bytes: Uint8Array, start: number, end: number, pe: PeImage): boolean {
  if (bytes.subarray(start, end).every((b) => b === 0)) return true;
  // Headers are loaded at RVA = file offset: a data directory there would make these bytes live.
  if (pe.dataDirectories.some((d) => d.size > 0 && d.virtualAddress < end && d.virtualAddress + d.size > start)) return false;
  for (let i = start; i < end; i++) if (bytes[i] !== AARCH64_NOP[i % 4]) return false;
  return true;
}

/** The file length without a trailing COFF symbol + string table (ukify strips it only when it is last). */
function lengthWithoutSymbolTable(image: Uint8Array, pe: PeImage): number {
  const start = pe.pointerToSymbolTable;
  if (start === 0) return image.length;
  let end = start + pe.numberOfSymbols * COFF_SYMBOL_SIZE;
  if (end + 4 <= image.length) end += new DataView(image.buffer, image.byteOffset).getUint32(end, true);
  const dataEnd = Math.max(0, ...pe.sections.map((s) => s.pointerToRawData + s.sizeOfRawData));
  return end === image.length && start >= dataEnd ? start : image.length;
}

function checkName(name: string): void {
  const bytes = new TextEncoder().encode(name);
  // eslint-disable-next-line no-control-regex
  if (bytes.length === 0 || bytes.length > SECTION_NAME_SIZE || !/^[\x21-\x7e]+$/.test(name)) {
    throw new RangeError(`PE section name "${name}" must be 1 to ${SECTION_NAME_SIZE} printable ASCII characters`);
  }
}

function checkU32(what: string, value: number): void {
  if (value > U32_MAX) throw new RangeError(`PE ${what} ${hex(value)} would exceed 4 GiB`);
}
