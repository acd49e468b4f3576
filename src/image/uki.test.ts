import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { buildTinyPe } from '../formats/pe/_testing.js';
import { decodePe, peSectionBytes, type PeImage } from '../formats/pe/index.js';
import { KilnError } from '../util/errors.js';
import { buildUki, type UkiParts } from './uki.js';

const STUB = new Uint8Array(readFileSync(new URL('./fixtures/linuxx64.efi.stub', import.meta.url)));
const KERNEL = '/tmp/probe/k/boot/vmlinuz-6.1.0-56-rt-amd64';
const hasObjdump = (() => {
  try {
    execFileSync('objdump', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const scratch = mkdtempSync(join(tmpdir(), 'kiln-uki-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A stand-in kernel: an x86_64 EFI application that needs 0x5000 bytes once loaded. */
const fakeKernel = (machine = 0x8664) => buildTinyPe({ machine, sizeOfImage: 0x5000 });

function parts(overrides: Partial<UkiParts> = {}): UkiParts {
  return {
    stub: STUB,
    linux: fakeKernel(),
    initrd: Uint8Array.from({ length: 0x1801 }, (_, i) => i & 0xff),
    cmdline: 'console=ttyS0 panic=-1 kiln.mode=ünïcode',
    osrel: 'ID=kiln\nVERSION_ID=0.1.0\n',
    uname: '6.1.0-56-rt-amd64',
    ...overrides,
  };
}

const UKI_SECTIONS = ['.osrel', '.cmdline', '.uname', '.initrd', '.linux'];
const STUB_SECTIONS = ['.text', '.reloc', '.data', '.dynamic', '.rela', '.dynsym', '.sbat', '.sdmagic'];

function sectionData(bytes: Uint8Array, pe: PeImage, name: string): Uint8Array {
  const data = peSectionBytes(bytes, pe, name);
  if (!data) throw new Error(`no ${name}`);
  return data;
}

/** Byte equality without vitest's element-by-element diff, which takes minutes on a kernel. */
function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length).toBe(expected.length);
  expect(Buffer.compare(actual, expected)).toBe(0);
}

function thrown(fn: () => unknown): KilnError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(KilnError);
    return e as KilnError;
  }
  throw new Error('expected an error');
}

/** objdump -h rows: name → size, VMA, file offset, flags. */
function objdumpSections(file: string): Map<string, { size: number; vma: number; fileOffset: number; flags: string }> {
  const out = execFileSync('objdump', ['-h', file], { encoding: 'utf8' });
  const rows = new Map<string, { size: number; vma: number; fileOffset: number; flags: string }>();
  const re = /^\s*\d+\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\S+\n\s+(.*)$/gm;
  for (const m of out.matchAll(re)) {
    rows.set(m[1], { size: parseInt(m[2], 16), vma: parseInt(m[3], 16), fileOffset: parseInt(m[4], 16), flags: m[5].trim() });
  }
  return rows;
}

/** objdump -p "Name<tab>hex" fields of the optional header. */
function objdumpHeader(file: string): Record<string, number> {
  const out = execFileSync('objdump', ['-p', file], { encoding: 'utf8' });
  const fields: Record<string, number> = {};
  for (const m of out.matchAll(/^(\w+)\s+([0-9a-f]+)\b/gm)) fields[m[1]] = parseInt(m[2], 16);
  return fields;
}

/** The second judge: objdump must see the sections and header fields that decodePe reads back. */
function expectObjdumpAgrees(image: Uint8Array, name: string): void {
  const file = join(scratch, name);
  writeFileSync(file, image);
  const pe = decodePe(image);
  const rows = objdumpSections(file);
  expect([...rows.keys()]).toEqual(pe.sections.map((s) => s.name));
  for (const s of pe.sections.filter((x) => UKI_SECTIONS.includes(x.name))) {
    // BFD shows a PE image section's size as VirtualSize, capped at SizeOfRawData (what the file holds).
    expect(rows.get(s.name)).toMatchObject({
      size: Math.min(s.virtualSize, s.sizeOfRawData),
      vma: s.virtualAddress,
      fileOffset: s.pointerToRawData,
    });
  }
  expect(rows.get('.linux')?.flags).toBe('CONTENTS, ALLOC, LOAD, READONLY, CODE');
  expect(rows.get('.osrel')?.flags).toBe('CONTENTS, ALLOC, LOAD, READONLY, DATA');
  const header = objdumpHeader(file);
  expect(header).toMatchObject({
    SizeOfImage: pe.sizeOfImage,
    SizeOfHeaders: pe.sizeOfHeaders,
    SizeOfInitializedData: pe.sizeOfInitializedData,
    CheckSum: 0,
    SectionAlignment: 0x200,
    FileAlignment: 0x200,
    Subsystem: 10,
  });
}

describe('buildUki', () => {
  test("appends .osrel .cmdline .uname .initrd .linux, .linux last and sized by the kernel's SizeOfImage", () => {
    const p = parts();
    const uki = buildUki(p);
    const pe = decodePe(uki);
    expect(pe.sections.map((s) => s.name)).toEqual([...STUB_SECTIONS, ...UKI_SECTIONS]);
    const linux = pe.sections[12];
    expect(linux).toMatchObject({ virtualSize: 0x5000, sizeOfRawData: 0x400, characteristics: 0x4000_0020 });
    expect(pe.sizeOfImage).toBe(linux.virtualAddress + 0x5000);
    expect(pe.sections[11]).toMatchObject({ name: '.initrd', virtualSize: 0x1801, sizeOfRawData: 0x1a00, characteristics: 0x4000_0040 });
    // Text: UTF-8, verbatim, no NUL terminator (ukify writes the text as is).
    expect(Buffer.from(sectionData(uki, pe, '.cmdline')).toString('hex')).toBe(Buffer.from('console=ttyS0 panic=-1 kiln.mode=ünïcode', 'utf8').toString('hex'));
    expect(new TextDecoder().decode(sectionData(uki, pe, '.osrel'))).toBe(p.osrel);
    expect(new TextDecoder().decode(sectionData(uki, pe, '.uname'))).toBe(p.uname);
    expectSameBytes(sectionData(uki, pe, '.initrd'), p.initrd);
    expectSameBytes(uki.subarray(linux.pointerToRawData, linux.pointerToRawData + p.linux.length), p.linux);
    // Sections follow each other in memory and in the file, after the stub's.
    for (let i = 9; i < 13; i++) {
      const [a, b] = [pe.sections[i - 1], pe.sections[i]];
      expect(b.virtualAddress).toBe(Math.ceil((a.virtualAddress + a.virtualSize) / 0x200) * 0x200);
      expect(b.pointerToRawData).toBe(a.pointerToRawData + a.sizeOfRawData);
    }
    // The stub's own bytes are untouched apart from the header fields.
    expectSameBytes(uki.subarray(0x400, 0x11400), STUB.subarray(0x400, 0x11400));
  });

  test.skipIf(!hasObjdump)('objdump agrees on sections, VMAs, sizes and header fields (fixture stub, fake kernel)', () => {
    expectObjdumpAgrees(buildUki(parts()), 'fake.efi');
  });

  test('leaves out empty optional parts, as ukify does', () => {
    const pe = decodePe(buildUki(parts({ cmdline: '', uname: '', initrd: new Uint8Array(0) })));
    expect(pe.sections.map((s) => s.name).slice(8)).toEqual(['.osrel', '.linux']);
  });

  test('the stub and the kernel must be of one architecture', () => {
    const e = thrown(() => buildUki(parts({ linux: fakeKernel(0xaa64) })));
    expect(e.code).toBe('UKI_ARCH_MISMATCH');
    expect(e.message).toBe('The UKI stub is for x86_64 (machine 0x8664) but the kernel is for aarch64 (machine 0xaa64)');
    expect(e.hint).toBe('Use the stub and the kernel of one architecture (linuxaa64.efi.stub for this kernel).');
  });

  test('the stub must be an x86_64 or aarch64 EFI application', () => {
    const i386 = buildTinyPe({ machine: 0x14c, magic: 0x10b });
    expect(thrown(() => buildUki(parts({ stub: i386 }))).message).toBe(
      'The UKI stub is for machine 0x014c; kiln builds for x86_64 (0x8664) and aarch64 (0xaa64)',
    );
    const console = buildTinyPe({ subsystem: 3 });
    expect(thrown(() => buildUki(parts({ stub: console }))).message).toBe('The UKI stub is not an EFI application (PE Subsystem 3, expected 10)');
  });

  test('refuses a signed stub', () => {
    const signed = new Uint8Array(STUB);
    const securityDirectory = 0x98 + 112 + 4 * 8; // optional header @0x98, PE32+ directories @+112, entry 4
    new DataView(signed.buffer).setUint32(securityDirectory, signed.length, true);
    new DataView(signed.buffer).setUint32(securityDirectory + 4, 0x100, true);
    const e = thrown(() => buildUki(parts({ stub: signed })));
    expect(e.code).toBe('UKI_STUB_SIGNED');
    expect(e.message).toBe('The UKI stub is signed (certificate table: 256 bytes); adding sections would break its signature');
  });

  test('names the part that is not a PE image', () => {
    const gzip = Uint8Array.from([0x1f, 0x8b, ...new Array(100).fill(0)]);
    const e = thrown(() => buildUki(parts({ linux: gzip })));
    expect(e.code).toBe('UKI_KERNEL_NOT_PE');
    expect(e.message).toBe('The kernel is not a PE image with an EFI stub: Cannot decode PE DOS header at 0x0: bad magic 0x8b1f (expected 0x5a4d "MZ")');
    const stub = new Uint8Array(STUB);
    stub[0x80] = 0; // "\0E\0\0"
    expect(thrown(() => buildUki(parts({ stub }))).message).toBe(
      'The UKI stub is not a PE image: Cannot decode PE header at 0x80: bad signature 00 45 00 00 (expected 50 45 00 00 "PE\\0\\0")',
    );
  });

  test('the arm64 stub (NOP header padding, SizeOfHeaders 0x1000): sections after it, its own bytes untouched', () => {
    const stub = new Uint8Array(readFileSync(new URL('./fixtures/linuxaa64.efi.stub', import.meta.url)));
    const linux = fakeKernel(0xaa64);
    const uki = buildUki(parts({ stub, linux, cmdline: 'console=ttyAMA0,115200 panic=-1', uname: '6.1.0-56-rt-arm64' }));
    const pe = decodePe(uki);
    expect(pe.machine).toBe(0xaa64);
    expect(pe.sections.map((s) => [s.name, s.virtualAddress, s.pointerToRawData])).toEqual([
      ['.text', 0x1000, 0x1000],
      ['.data', 0xf000, 0xf000],
      ['.osrel', 0x11000, 0x12200],
      ['.cmdline', 0x12000, 0x12400],
      ['.uname', 0x13000, 0x12600],
      ['.initrd', 0x14000, 0x12800],
      ['.linux', 0x16000, 0x14200],
    ]);
    expect(pe.sections[6]!.virtualSize).toBe(0x5000); // the fake kernel's SizeOfImage
    expect(new TextDecoder().decode(sectionData(uki, pe, '.cmdline'))).toBe('console=ttyAMA0,115200 panic=-1');
    expectSameBytes(sectionData(uki, pe, '.linux').subarray(0, linux.length), linux);
    expectSameBytes(uki.subarray(0x1000, stub.length), stub.subarray(0x1000)); // code, data and trailer as they were
  });

  describe.skipIf(!existsSync(KERNEL))('with the real Debian RT kernel', () => {
    const linux = existsSync(KERNEL) ? readFileSync(KERNEL) : new Uint8Array(0);

    test('.linux carries the whole vmlinuz and its SizeOfImage (0x816000)', () => {
      const uki = buildUki(parts({ linux }));
      const pe = decodePe(uki);
      const s = pe.sections[12];
      expect(s).toMatchObject({ name: '.linux', virtualSize: 0x816000, sizeOfRawData: 0x7d1800 });
      expectSameBytes(uki.subarray(s.pointerToRawData, s.pointerToRawData + linux.length), linux);
      expect(pe.sizeOfImage).toBe(s.virtualAddress + 0x816000);
    });

    test.skipIf(!hasObjdump)('objdump agrees', () => {
      expectObjdumpAgrees(buildUki(parts({ linux })), 'real.efi');
    });
  });
});
