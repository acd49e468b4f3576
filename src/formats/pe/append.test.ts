import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { KilnError } from '../../util/errors.js';
import { buildTinyPe, defaultText } from './_testing.js';
import { appendSections } from './append.js';
import { decodePe } from './decode.js';

const STUB = new URL('../../image/fixtures/linuxx64.efi.stub', import.meta.url);
const KERNEL = '/tmp/probe/k/boot/vmlinuz-6.1.0-56-rt-amd64';
const text = (s: string) => new TextEncoder().encode(s);
const pattern = (length: number, seed: number) => Uint8Array.from({ length }, (_, i) => (i * 7 + seed) & 0xff);

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('appendSections', () => {
  test('golden bytes: two sections appended to a hand-made PE32+', () => {
    const input = buildTinyPe(); // 0x400 bytes: headers to 0x200, .text raw 0x200..0x400, VA 0x1000+0x10
    const osrel = text('ID=kiln\n');
    const linux = pattern(0x300, 1);
    const out = appendSections(input, [
      { name: '.osrel', data: osrel },
      { name: '.linux', data: linux, virtualSize: 0x5000, characteristics: 0x4000_0020 },
    ]);

    // Expected, worked out by hand from the PE spec and ukify's rules, with absolute offsets.
    const expected = new Uint8Array(0xa00);
    expected.set(input);
    const v = new DataView(expected.buffer);
    v.setUint16(0x46, 3, true); // NumberOfSections: 1 + 2
    v.setUint32(0x60, 0x400 + 8 + 0x5000, true); // SizeOfInitializedData += each VirtualSize
    v.setUint32(0x90, 0x8000, true); // SizeOfImage: 0x3000 + 0x5000, aligned to 0x1000
    v.setUint32(0x98, 0, true); // CheckSum
    // .osrel header @0x170: right after .text's @0x148
    expected.set(text('.osrel'), 0x170);
    v.setUint32(0x178, 8, true); // VirtualSize = data length
    v.setUint32(0x17c, 0x2000, true); // VirtualAddress: 0x1010 rounded up to 0x1000
    v.setUint32(0x180, 0x200, true); // SizeOfRawData: 8 rounded up to 0x200
    v.setUint32(0x184, 0x400, true); // PointerToRawData: old end of file
    v.setUint32(0x194, 0x4000_0040, true); // INITIALIZED_DATA | MEM_READ
    // .linux header @0x198
    expected.set(text('.linux'), 0x198);
    v.setUint32(0x1a0, 0x5000, true);
    v.setUint32(0x1a4, 0x3000, true); // 0x2008 rounded up
    v.setUint32(0x1a8, 0x400, true); // 0x300 rounded up
    v.setUint32(0x1ac, 0x600, true);
    v.setUint32(0x1bc, 0x4000_0020, true);
    expected.set(osrel, 0x400);
    expected.set(linux, 0x600);

    expect(Buffer.from(out).toString('hex')).toBe(Buffer.from(expected).toString('hex'));
  });

  test('round trip: decode(appendSections(x)) has the old sections, then the new ones with their data', () => {
    const input = buildTinyPe();
    const added = [
      { name: '.cmdline', data: text('console=ttyS0 quiet') },
      { name: '.initrd', data: pattern(0x1234, 3) },
      { name: '.x', data: new Uint8Array(0) },
    ];
    const out = appendSections(input, added);
    const pe = decodePe(out);
    expect(pe.sections.slice(0, 1)).toEqual(decodePe(input).sections);
    expect(pe.numberOfSections).toBe(4);
    expect(pe.sections.slice(1).map((s) => [s.name, s.virtualAddress, s.virtualSize, s.pointerToRawData, s.sizeOfRawData])).toEqual([
      ['.cmdline', 0x2000, 19, 0x400, 0x200],
      ['.initrd', 0x3000, 0x1234, 0x600, 0x1400],
      ['.x', 0x5000, 0, 0x1a00, 0],
    ]);
    for (const [i, a] of added.entries()) {
      const s = pe.sections[i + 1];
      expect(out.subarray(s.pointerToRawData, s.pointerToRawData + a.data.length)).toEqual(a.data);
    }
    expect(pe.sizeOfImage).toBe(0x5000);
    expect(pe.checkSum).toBe(0);
    expect(out.subarray(0, 0x148)).not.toEqual(input.subarray(0, 0x148)); // headers patched...
    expect(out.subarray(0x200, 0x400)).toEqual(input.subarray(0x200, 0x400)); // ...old section data untouched
  });

  test('SizeOfImage is the end of the last section rounded up to SectionAlignment', () => {
    const pe = decodePe(appendSections(buildTinyPe(), [{ name: '.a', data: text('abc') }]));
    expect(pe.sections[1]).toMatchObject({ virtualAddress: 0x2000, virtualSize: 3 });
    expect(pe.sizeOfImage).toBe(0x3000);
  });

  test('the input is not modified', () => {
    const input = buildTinyPe();
    const before = input.slice();
    appendSections(input, [{ name: '.a', data: text('a') }]);
    expect(input).toEqual(before);
  });

  test('refuses when the headers have no room for another section header', () => {
    const input = buildTinyPe(); // table ends at 0x170, data at 0x200: room for 3 headers of 40 bytes
    const four = ['.a', '.b', '.c', '.d'].map((name) => ({ name, data: text(name) }));
    expect(() => appendSections(input, four.slice(0, 3))).not.toThrow();
    const e = thrown(() => appendSections(input, four));
    expect(e).toBeInstanceOf(KilnError);
    expect((e as KilnError).code).toBe('PE_NO_HEADER_ROOM');
    expect(e.message).toBe('No room for PE section header ".d" at 0x1e8: the headers end at 0x200 (SizeOfHeaders 0x200, first section data at 0x200)');
  });

  test("the first section's data limits the room even when SizeOfHeaders claims more", () => {
    const input = buildTinyPe({ sizeOfHeaders: 0x200 });
    new DataView(input.buffer).setUint32(0x58 + 60, 0x1000, true); // SizeOfHeaders 0x1000, data still at 0x200
    const e = thrown(() =>
      appendSections(
        input,
        ['.a', '.b', '.c', '.d'].map((name) => ({ name, data: text(name) })),
      ),
    );
    expect(e.message).toBe('No room for PE section header ".d" at 0x1e8: the headers end at 0x200 (SizeOfHeaders 0x1000, first section data at 0x200)');
  });

  test('refuses to overwrite non-zero bytes after the section table', () => {
    const input = buildTinyPe();
    input[0x1a0] = 0xee;
    expect(
      thrown(() =>
        appendSections(input, [
          { name: '.a', data: text('a') },
          { name: '.b', data: text('b') },
        ]),
      ).message,
    ).toBe('No room for PE section header ".b" at 0x198: the header padding there is in use (not zero)');
  });

  test("header padding of AArch64 NOPs (systemd 252's arm64 stub) is free room; new headers are written clean", () => {
    const input = buildTinyPe(); // section table ends at 0x170, data at 0x200
    for (let at = 0x170; at < 0x200; at += 4) input.set([0x1f, 0x20, 0x03, 0xd5], at); // nop
    const out = appendSections(input, [
      { name: '.osrel', data: text('ID=kiln') },
      { name: '.cmdline', data: text('quiet') },
    ]);
    expect(decodePe(out).sections.map((x) => x.name)).toEqual(['.text', '.osrel', '.cmdline']);
    expect(out.subarray(0x170 + 6, 0x170 + 8)).toEqual(new Uint8Array(2)); // ".osrel" padded with NULs, not NOP bytes
    expect(out.subarray(0x170 + 24, 0x170 + 36)).toEqual(new Uint8Array(12)); // relocation and line-number fields 0
    expect(out.subarray(0x1c0, 0x200)).toEqual(input.subarray(0x1c0, 0x200)); // the rest of the padding as it was
  });

  test('NOP-looking header bytes that a data directory points at are not padding', () => {
    const input = buildTinyPe();
    for (let at = 0x170; at < 0x200; at += 4) input.set([0x1f, 0x20, 0x03, 0xd5], at);
    const view = new DataView(input.buffer);
    view.setUint32(0x58 + 112 + 5 * 8, 0x1a0, true); // base relocation directory VirtualAddress (4) @0: in the headers
    view.setUint32(0x58 + 112 + 5 * 8 + 4, 0x10, true); // Size (4) @4
    expect(() => appendSections(input, [{ name: '.a', data: text('a') }])).not.toThrow();
    expect(
      thrown(() =>
        appendSections(input, [
          { name: '.a', data: text('a') },
          { name: '.b', data: text('b') },
        ]),
      ).message,
    ).toBe('No room for PE section header ".b" at 0x198: the header padding there is in use (not zero)');
  });

  test('refuses a signed image', () => {
    const e = thrown(() => appendSections(buildTinyPe({ certificateTable: { offset: 0x400, size: 0x10 } }), [{ name: '.a', data: text('a') }]));
    expect(e).toBeInstanceOf(KilnError);
    expect((e as KilnError).code).toBe('PE_SIGNED');
    expect(e.message).toBe('Refusing to add sections to a signed PE image (certificate table: 16 bytes at 0x400): the signature would no longer match');
  });

  test.skipIf(!existsSync(KERNEL))('refuses the signed Debian kernel', () => {
    expect(thrown(() => appendSections(readFileSync(KERNEL), [{ name: '.a', data: text('a') }])).message).toBe(
      'Refusing to add sections to a signed PE image (certificate table: 1472 bytes at 0x7d1200): the signature would no longer match',
    );
  });

  test('drops a COFF symbol table at the end of the file, as ukify does', () => {
    const symbols = new Uint8Array(2 * 18 + 8);
    symbols.fill(0x55, 0, 36);
    new DataView(symbols.buffer).setUint32(36, 8, true); // string table size, includes itself
    symbols.set(text('abc\0'), 40);
    const input = buildTinyPe({ symbolTable: { count: 2, bytes: symbols } });
    expect(decodePe(input).pointerToSymbolTable).toBe(0x400);
    const out = appendSections(input, [{ name: '.a', data: text('a') }]);
    const pe = decodePe(out);
    expect([pe.pointerToSymbolTable, pe.numberOfSymbols, pe.characteristics]).toEqual([0, 0, 0x0206 | 0x0008]);
    expect(pe.sections[1].pointerToRawData).toBe(0x400); // where the symbols were
    expect(out.length).toBe(0x600);
  });

  test('keeps a symbol table that is not last, and aligns past trailing bytes', () => {
    const symbols = new Uint8Array(18 + 4 + 3); // 3 bytes after a 4-byte string table
    new DataView(symbols.buffer).setUint32(18, 4, true);
    const input = buildTinyPe({ symbolTable: { count: 1, bytes: symbols } });
    const out = appendSections(input, [{ name: '.a', data: text('a') }]);
    const pe = decodePe(out);
    expect([pe.pointerToSymbolTable, pe.numberOfSymbols]).toEqual([0x400, 1]);
    expect(pe.sections[1].pointerToRawData).toBe(0x600); // 0x400 + 25 rounded up to FileAlignment
    expect(out.subarray(0x400, 0x400 + symbols.length)).toEqual(symbols);
  });

  test('an unaligned SizeOfHeaders grows to FileAlignment to make room (ukify does the same)', () => {
    const input = buildTinyPe({ sizeOfHeaders: 0x180 }); // data still starts at 0x200
    const out = appendSections(
      input,
      ['.a', '.b', '.c'].map((name) => ({ name, data: text(name) })),
    );
    expect(decodePe(out).sizeOfHeaders).toBe(0x200);
  });

  test('refuses existing sections whose raw data is not aligned to FileAlignment', () => {
    const input = buildTinyPe();
    new DataView(input.buffer).setUint32(0x148 + 16, 0x1f0, true); // .text SizeOfRawData 0x1f0
    expect(thrown(() => appendSections(input, [{ name: '.a', data: text('a') }])).message).toBe(
      'PE section ".text" raw data 0x200+0x1f0 is not aligned to FileAlignment 0x200',
    );
  });

  test('section names must be 1 to 8 printable ASCII characters', () => {
    const input = buildTinyPe();
    for (const name of ['', '.toolong1', '.linüx', 'a b']) {
      const e = thrown(() => appendSections(input, [{ name, data: text('x') }]));
      expect(e).toBeInstanceOf(RangeError);
      expect(e.message).toBe(`PE section name "${name}" must be 1 to 8 printable ASCII characters`);
    }
    expect(decodePe(appendSections(input, [{ name: '.abcdefg', data: text('x') }])).sections[1].name).toBe('.abcdefg');
  });

  test('places new sections after the highest section in memory, not merely the last in the table', () => {
    const high = { ...defaultText(), name: '.high', virtualAddress: 0x8000 };
    const input = buildTinyPe({ sections: [high, { ...defaultText(), name: '.low' }], sizeOfImage: 0x9000 });
    const pe = decodePe(appendSections(input, [{ name: '.a', data: text('a') }]));
    expect(pe.sections[2].virtualAddress).toBe(0x9000);
  });

  test('the real stub takes the five UKI sections', () => {
    const stub = readFileSync(STUB);
    const out = appendSections(
      stub,
      ['.osrel', '.cmdline', '.uname', '.initrd', '.linux'].map((name) => ({ name, data: text(name) })),
    );
    const pe = decodePe(out);
    expect(pe.sections.map((s) => s.name).slice(8)).toEqual(['.osrel', '.cmdline', '.uname', '.initrd', '.linux']);
    // .sdmagic ends at 0x19100 + 0x34; SectionAlignment is 0x200. Its symbol table (0x11400..end) is gone.
    expect(pe.sections[8]).toMatchObject({ virtualAddress: 0x19200, pointerToRawData: 0x11400 });
    expect(pe.pointerToSymbolTable).toBe(0);
  });

  test('nothing to add: an unchanged copy', () => {
    const input = buildTinyPe();
    const out = appendSections(input, []);
    expect(out).toEqual(input);
    expect(out).not.toBe(input);
  });
});
