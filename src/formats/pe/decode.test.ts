import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { DecodeError } from '../../util/errors.js';
import { buildTinyPe, defaultText, TINY_E_LFANEW, TINY_SECTION_TABLE } from './_testing.js';
import { decodePe } from './decode.js';

const STUB = new URL('../../image/fixtures/linuxx64.efi.stub', import.meta.url);
const KERNEL = '/tmp/probe/k/boot/vmlinuz-6.1.0-56-rt-amd64';
const hasObjdump = (() => {
  try {
    execFileSync('objdump', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const scratch = mkdtempSync(join(tmpdir(), 'kiln-pe-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function decodeError(bytes: Uint8Array): DecodeError {
  try {
    decodePe(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(DecodeError);
    return e as DecodeError;
  }
  throw new Error('decodePe accepted corrupt input');
}

describe('decodePe', () => {
  test('reads every field of a hand-made PE32+', () => {
    const pe = decodePe(buildTinyPe());
    expect(pe).toEqual({
      machine: 0x8664,
      characteristics: 0x0206,
      magic: 0x20b,
      subsystem: 10,
      fileAlignment: 0x200,
      sectionAlignment: 0x1000,
      sizeOfImage: 0x2000,
      sizeOfHeaders: 0x200,
      sizeOfInitializedData: 0x400,
      checkSum: 0x1234,
      numberOfSections: 1,
      pointerToSymbolTable: 0,
      numberOfSymbols: 0,
      sections: [
        {
          name: '.text',
          virtualSize: 0x10,
          virtualAddress: 0x1000,
          sizeOfRawData: 0x200,
          pointerToRawData: 0x200,
          characteristics: 0x6000_0020,
          headerOffset: TINY_SECTION_TABLE,
        },
      ],
      dataDirectories: Array.from({ length: 16 }, () => ({ virtualAddress: 0, size: 0 })),
      certificateTable: { offset: 0, size: 0 },
      offsets: { coffHeader: 0x44, optionalHeader: 0x58, sectionTable: 0x148 },
    });
  });

  test('reads PE32 (BaseOfData, 4-byte ImageBase: the directories sit 16 bytes earlier)', () => {
    const pe = decodePe(buildTinyPe({ magic: 0x10b, machine: 0x14c, certificateTable: { offset: 0x400, size: 0x20 } }));
    expect(pe.magic).toBe(0x10b);
    expect(pe.machine).toBe(0x14c);
    expect(pe.offsets.sectionTable).toBe(0x58 + 96 + 16 * 8);
    expect(pe.certificateTable).toEqual({ offset: 0x400, size: 0x20 });
    expect(pe.sections.map((s) => s.name)).toEqual(['.text']);
  });

  test('a short data directory list (the x86 kernel has 6) still finds the certificate table; fewer than 5 means unsigned', () => {
    expect(decodePe(buildTinyPe({ numberOfRvaAndSizes: 6, certificateTable: { offset: 0x400, size: 8 } })).certificateTable).toEqual({
      offset: 0x400,
      size: 8,
    });
    const four = decodePe(buildTinyPe({ numberOfRvaAndSizes: 4 }));
    expect(four.dataDirectories).toHaveLength(4);
    expect(four.certificateTable).toEqual({ offset: 0, size: 0 });
  });

  test('an 8-character section name has no NUL', () => {
    const pe = decodePe(buildTinyPe({ sections: [{ ...defaultText(), name: '.abcdefg' }] }));
    expect(pe.sections[0].name).toBe('.abcdefg');
  });

  test('reads the real systemd-stub', () => {
    const pe = decodePe(readFileSync(STUB));
    expect(pe.machine).toBe(0x8664);
    expect(pe.magic).toBe(0x20b);
    expect(pe.subsystem).toBe(10);
    expect(pe.sections.map((s) => s.name)).toEqual(['.text', '.reloc', '.data', '.dynamic', '.rela', '.dynsym', '.sbat', '.sdmagic']);
    expect(pe.sizeOfHeaders).toBe(0x400);
    expect(pe.offsets.sectionTable).toBe(0x188);
    expect(pe.certificateTable).toEqual({ offset: 0, size: 0 });
    expect(pe.pointerToSymbolTable).toBe(0x11400);
  });

  test.skipIf(!existsSync(KERNEL))('reads the signed Debian kernel', () => {
    const pe = decodePe(readFileSync(KERNEL));
    expect(pe.machine).toBe(0x8664);
    expect(pe.dataDirectories).toHaveLength(6);
    expect(pe.certificateTable).toEqual({ offset: 0x7d1200, size: 0x5c0 });
    expect(pe.sizeOfImage).toBe(0x816000);
  });

  test.skipIf(!hasObjdump)('objdump reads the hand-made PE32+ the same way (second judge for the test builder)', () => {
    const file = join(scratch, 'tiny.efi');
    writeFileSync(file, buildTinyPe());
    const p = execFileSync('objdump', ['-p', file], { encoding: 'utf8' });
    expect(p).toMatch(/file format pei-x86-64/);
    expect(p).toMatch(/Magic\s+020b\s+\(PE32\+\)/);
    expect(p).toMatch(/SectionAlignment\s+0*1000\n/);
    expect(p).toMatch(/FileAlignment\s+0*200\n/);
    expect(p).toMatch(/SizeOfImage\s+0*2000\n/);
    expect(p).toMatch(/SizeOfHeaders\s+0*200\n/);
    expect(p).toMatch(/Subsystem\s+0000000a\s+\(EFI application\)/);
    const h = execFileSync('objdump', ['-h', file], { encoding: 'utf8' });
    expect(h).toMatch(/0 \.text\s+00000010\s+0*1000\s+0*1000\s+00000200/);
  });

  describe('corruption: the exact error', () => {
    test('DOS magic', () => {
      const b = buildTinyPe();
      b[0] = 0x5b; // "[Z"
      expect(decodeError(b).message).toBe('Cannot decode PE DOS header at 0x0: bad magic 0x5a5b (expected 0x5a4d "MZ")');
    });

    test('PE signature', () => {
      const b = buildTinyPe();
      b[TINY_E_LFANEW + 3] = 1; // "PE\0\x01"
      expect(decodeError(b).message).toBe('Cannot decode PE header at 0x40: bad signature 50 45 00 01 (expected 50 45 00 00 "PE\\0\\0")');
    });

    test('PE signature of the real stub', () => {
      const b = new Uint8Array(readFileSync(STUB));
      b[0x81] = 0x46; // "PF\0\0"
      const e = decodeError(b);
      expect(e.message).toBe('Cannot decode PE header at 0x80: bad signature 50 46 00 00 (expected 50 45 00 00 "PE\\0\\0")');
      expect(e.offset).toBe(0x80);
    });

    test('optional header magic', () => {
      const b = buildTinyPe();
      b[0x59] = 0x03; // 0x30b
      expect(decodeError(b).message).toBe('Cannot decode PE optional header at 0x58: bad magic 0x30b (expected 0x10b PE32 or 0x20b PE32+)');
    });

    test('e_lfanew past the end', () => {
      const b = buildTinyPe();
      b[0x3d] = 0x04; // e_lfanew 0x440, file is 0x400
      expect(decodeError(b).message).toBe('Cannot decode PE DOS header at 0x3c: e_lfanew 0x440 leaves no room for the PE headers in 1024 bytes');
    });

    test('truncated before the DOS header ends', () => {
      expect(decodeError(buildTinyPe().subarray(0, 10)).message).toBe('Cannot decode PE DOS header at 0x0: truncated: 10 bytes, need 64');
    });

    test('NumberOfRvaAndSizes larger than the optional header', () => {
      const b = buildTinyPe();
      b[0x58 + 108] = 17;
      expect(decodeError(b).message).toBe('Cannot decode PE optional header at 0xc4: NumberOfRvaAndSizes 17 overruns SizeOfOptionalHeader 240');
    });

    test('FileAlignment not a power of two', () => {
      const b = buildTinyPe();
      b[0x58 + 36] = 0x01; // 0x201
      expect(decodeError(b).message).toBe('Cannot decode PE optional header at 0x7c: FileAlignment 0x201 is not a power of two');
    });

    test('too many sections for the file', () => {
      const b = buildTinyPe();
      b[0x46] = 0x40; // NumberOfSections 64 * 40 bytes from 0x148 > 0x400
      expect(decodeError(b).message).toBe('Cannot decode PE section table at 0x148: 64 section headers run past the end of the file (1024 bytes)');
    });

    test('section raw data past the end', () => {
      const b = buildTinyPe();
      b[TINY_SECTION_TABLE + 17] = 0x04; // SizeOfRawData 0x400 at 0x200 > 0x400
      expect(decodeError(b).message).toBe(
        'Cannot decode PE section table at 0x158: section ".text" raw data 0x200+0x400 runs past the end of the file (1024 bytes)',
      );
    });
  });
});
