import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cacheRoot } from '../../inputs/cache.js';
import { DecodeError } from '../../util/errors.js';
import { decodeElf, stripElf } from './index.js';

// ---------------------------------------------------------------------------------------------------------------
// A tiny static x86_64 program built field by field: `exit(42)`, with the sections a real link leaves behind.
//   0x000 header | 0x040 3 program headers (LOAD r-x, LOAD rw-, GNU_STACK)
//   0x0e8 .text (16) | 0x0f8 .rela.text (24)                       ← first PT_LOAD: [0, 0x110)
//   0x110 .comment (14): dropped, but before the end of the last segment
//   0x120 .data (8), .bss (0x100 in memory only)                   ← second PT_LOAD: [0x120, 0x128)
//   0x128 .symtab (48) | 0x158 .strtab (8) | 0x160 .debug_info (16) | 0x170 .shstrtab | 0x1c0 10 section headers
// ---------------------------------------------------------------------------------------------------------------

const BASE = 0x40_0000;
const SHSTRTAB = '\0.comment\0.text\0.rela.text\0.data\0.bss\0.symtab\0.strtab\0.debug_info\0.shstrtab\0';
const name = (n: string) => SHSTRTAB.indexOf(`\0${n}\0`) + 1;
// mov edi, 42; mov eax, 60 (exit); syscall; int3 padding
const CODE = [0xbf, 0x2a, 0, 0, 0, 0xb8, 0x3c, 0, 0, 0, 0x0f, 0x05, 0xcc, 0xcc, 0xcc, 0xcc];

function buildTinyProgram(machine = 62): Uint8Array {
  const bytes = new Uint8Array(0x1c0 + 10 * 64);
  const v = new DataView(bytes.buffer);
  const u16 = (at: number, x: number) => v.setUint16(at, x, true);
  const u32 = (at: number, x: number) => v.setUint32(at, x, true);
  const u64 = (at: number, x: number) => v.setBigUint64(at, BigInt(x), true);

  bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0); // EI_MAG (4) @0, EI_CLASS (1) @4: 64, EI_DATA (1) @5: LE, EI_VERSION @6
  u16(16, 2); // e_type (2) @16: ET_EXEC
  u16(18, machine); // e_machine (2) @18
  u32(20, 1); // e_version (4) @20
  u64(24, BASE + 0xe8); // e_entry (8) @24: .text
  u64(32, 0x40); // e_phoff (8) @32
  u64(40, 0x1c0); // e_shoff (8) @40
  u16(52, 64); // e_ehsize (2) @52
  u16(54, 56); // e_phentsize (2) @54
  u16(56, 3); // e_phnum (2) @56
  u16(58, 64); // e_shentsize (2) @58
  u16(60, 10); // e_shnum (2) @60
  u16(62, 9); // e_shstrndx (2) @62

  const phdr = (i: number, type: number, flags: number, offset: number, vaddr: number, filesz: number, memsz: number, align: number) => {
    const at = 0x40 + i * 56;
    u32(at, type); // p_type (4) @0
    u32(at + 4, flags); // p_flags (4) @4
    u64(at + 8, offset); // p_offset (8) @8
    u64(at + 16, vaddr); // p_vaddr (8) @16
    u64(at + 24, vaddr); // p_paddr (8) @24
    u64(at + 32, filesz); // p_filesz (8) @32
    u64(at + 40, memsz); // p_memsz (8) @40
    u64(at + 48, align); // p_align (8) @48
  };
  phdr(0, 1, 5, 0, BASE, 0x110, 0x110, 0x1000); // PT_LOAD r-x
  phdr(1, 1, 6, 0x120, BASE + 0x1120, 8, 0x108, 0x1000); // PT_LOAD rw-: .data, then .bss in memory
  phdr(2, 0x6474e551, 6, 0, 0, 0, 0, 16); // PT_GNU_STACK rw-

  bytes.set(CODE, 0xe8);
  // .rela.text: one R_X86_64_NONE entry (never applied: no PT_DYNAMIC); only its header links matter here.
  bytes.set(new TextEncoder().encode('GCC: (kiln) 1\0'), 0x110);
  bytes.set(new TextEncoder().encode('kiln-dat'), 0x120);
  // .symtab: the null symbol, then `_start` (global, in section 2)
  u32(0x128 + 24, 1); // st_name (4) @0
  bytes[0x128 + 24 + 4] = 0x10; // st_info (1) @4: STB_GLOBAL, STT_NOTYPE
  u16(0x128 + 24 + 6, 2); // st_shndx (2) @6
  u64(0x128 + 24 + 8, BASE + 0xe8); // st_value (8) @8
  bytes.set(new TextEncoder().encode('\0_start\0'), 0x158);
  bytes.fill(0xdb, 0x160, 0x170); // .debug_info
  bytes.set(new TextEncoder().encode(SHSTRTAB), 0x170);

  const shdr = (i: number, n: string, type: number, flags: number, addr: number, offset: number, size: number, link = 0, info = 0, align = 1, entsize = 0) => {
    const at = 0x1c0 + i * 64;
    u32(at, n ? name(n) : 0); // sh_name (4) @0
    u32(at + 4, type); // sh_type (4) @4
    u64(at + 8, flags); // sh_flags (8) @8
    u64(at + 16, addr); // sh_addr (8) @16
    u64(at + 24, offset); // sh_offset (8) @24
    u64(at + 32, size); // sh_size (8) @32
    u32(at + 40, link); // sh_link (4) @40
    u32(at + 44, info); // sh_info (4) @44
    u64(at + 48, align); // sh_addralign (8) @48
    u64(at + 56, entsize); // sh_entsize (8) @56
  };
  shdr(0, '', 0, 0, 0, 0, 0, 0, 0, 0);
  shdr(1, '.comment', 1, 0x30, 0, 0x110, 14, 0, 0, 1, 1); // PROGBITS, MS
  shdr(2, '.text', 1, 0x6, BASE + 0xe8, 0xe8, 16, 0, 0, 16); // PROGBITS, AX
  shdr(3, '.rela.text', 4, 0x42, BASE + 0xf8, 0xf8, 24, 6, 2, 8, 24); // RELA, AI: symbols in 6, applies to 2
  shdr(4, '.data', 1, 0x3, BASE + 0x1120, 0x120, 8, 0, 0, 8); // PROGBITS, WA
  shdr(5, '.bss', 8, 0x3, BASE + 0x1128, 0x128, 0x100, 0, 0, 8); // NOBITS, WA
  shdr(6, '.symtab', 2, 0, 0, 0x128, 48, 7, 1, 8, 24); // SYMTAB: strings in 7, first global 1
  shdr(7, '.strtab', 3, 0, 0, 0x158, 8);
  shdr(8, '.debug_info', 1, 0, 0, 0x160, 16);
  shdr(9, '.shstrtab', 3, 0, 0, 0x170, SHSTRTAB.length);
  return bytes;
}

const tiny = buildTinyProgram();
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('stripElf on a hand-built program', () => {
  const out = stripElf(tiny);

  test('golden bytes', () => {
    expect([tiny.length, sha256(tiny)]).toEqual([1088, GOLDEN_INPUT]);
    // 0x128 loaded prefix + 39-byte .shstrtab, aligned to 8 + 6 section headers.
    expect(out.length).toBe(0x150 + 6 * 64);
    expect(sha256(out)).toBe(GOLDEN_STRIPPED);
  });

  test('keeps every loaded byte and the program headers, zeroes the dropped section between segments', () => {
    expect(out.subarray(0x40, 0x110)).toEqual(tiny.subarray(0x40, 0x110)); // program headers, .text, .rela.text
    expect(out.subarray(0x120, 0x128)).toEqual(tiny.subarray(0x120, 0x128)); // .data
    expect(out.subarray(0x110, 0x120)).toEqual(new Uint8Array(16)); // .comment was here
    expect(out.subarray(0, 40)).toEqual(tiny.subarray(0, 40)); // ident, type, machine, entry, phoff
    expect(new TextDecoder().decode(out.subarray(0x128, 0x128 + 39))).toBe('\0.text\0.rela.text\0.data\0.bss\0.shstrtab\0');
  });

  test('only SHF_ALLOC sections remain, with sh_link and sh_info renumbered', () => {
    const elf = decodeElf(out);
    expect(elf.sections.map((s) => [s.name, s.offset, s.size])).toEqual([
      ['', 0, 0],
      ['.text', 0xe8, 16],
      ['.rela.text', 0xf8, 24],
      ['.data', 0x120, 8],
      ['.bss', 0x128, 0x100],
      ['.shstrtab', 0x128, 39],
    ]);
    const v = new DataView(out.buffer, out.byteOffset);
    const rela = 0x150 + 2 * 64;
    expect([v.getUint32(rela + 40, true), v.getUint32(rela + 44, true)]).toEqual([0, 1]); // .symtab gone; .text is now 1
    expect(v.getBigUint64(40, true)).toBe(0x150n); // e_shoff
    expect([v.getUint16(60, true), v.getUint16(62, true)]).toEqual([6, 5]); // e_shnum, e_shstrndx
  });

  test('is idempotent', () => {
    expect(stripElf(out)).toEqual(out);
  });

  test('a program without section headers keeps its loaded prefix only', () => {
    const bare = tiny.slice();
    const v = new DataView(bare.buffer);
    v.setBigUint64(40, 0n, true); // e_shoff
    v.setUint16(60, 0, true); // e_shnum
    v.setUint16(62, 0, true); // e_shstrndx
    expect(stripElf(bare)).toEqual(bare.subarray(0, 0x128));
  });

  test.skipIf(process.platform !== 'linux' || process.arch !== 'x64')('the stripped program still runs: exit(42)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-strip-'));
    try {
      for (const [file, bytes] of [
        ['tiny', tiny],
        ['tiny-stripped', out],
      ] as const) {
        writeFileSync(join(dir, file), bytes, { mode: 0o755 });
        expect(spawnSync(join(dir, file)).status, file).toBe(42);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('stripElf on bad input', () => {
  test('a relocatable object (a kernel module) is refused: it needs its symbols', () => {
    const rel = tiny.slice();
    new DataView(rel.buffer).setUint16(16, 1, true); // e_type: ET_REL
    expect(() => stripElf(rel)).toThrow(new TypeError('Cannot strip ELF file of type 1: only executables (2) and shared objects (3) are stripped'));
  });

  test('a segment past the end of the file', () => {
    const bad = tiny.slice();
    new DataView(bad.buffer).setBigUint64(0x40 + 56 + 32, 0x1000n, true); // second PT_LOAD p_filesz
    expect(() => stripElf(bad)).toThrow(DecodeError);
    expect(() => stripElf(bad)).toThrow('Cannot decode ELF program header 1 at 0x78: segment ends at 0x1120, past end of file at 0x440');
  });

  test('one flipped magic byte', () => {
    const bad = tiny.slice();
    bad[1] ^= 0xff;
    expect(() => stripElf(bad)).toThrow('Cannot decode ELF header at 0x0: bad magic');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Second judges: readelf on the tiny program and on real ones, and the stripped programs still running.
// ---------------------------------------------------------------------------------------------------------------

const hasReadelf = spawnSync('readelf', ['--version']).status === 0;
const hasStrip = spawnSync('strip', ['--version']).status === 0;
const readelf = (args: string[], file: string) => {
  const r = spawnSync('readelf', ['-W', ...args, file], { encoding: 'utf8', maxBuffer: 1 << 26 });
  expect(r.stderr, `readelf ${args.join(' ')} ${file}`).toBe('');
  return r.stdout;
};
/** readelf -l from "Program Headers:" on (the part above names e_shoff's neighbours and the file type). */
const programHeaders = (file: string) => readelf(['-l'], file).replace(/^[^]*?Program Headers:/, '');
const sectionNames = (file: string) => [...readelf(['-S'], file).matchAll(/^\s*\[\s*\d+\]\s(\S*)/gm)].map((m) => m[1]).filter((n) => n !== 'Name');

/** The unpacked npm `node-linux-*` tree pinned in examples/kiln.lock for `arch`, if a build has unpacked it. */
function cachedNode(arch: 'x86_64' | 'aarch64'): string | undefined {
  const lock = JSON.parse(readFileSync(new URL('../../../examples/kiln.lock', import.meta.url), 'utf8'));
  const sha = lock.inputs[`${arch}/node`]?.sha256;
  const file = sha && join(cacheRoot(), 'trees', sha, 'bin', 'node');
  return file && existsSync(file) ? file : undefined;
}

describe.skipIf(!hasReadelf)('readelf agrees', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kiln-strip-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Strips `file` with stripElf; checks program headers unchanged and nothing unloaded left. */
  function stripAndJudge(file: string): string {
    const out = join(dir, `${file.replace(/\W/g, '_')}.stripped`);
    writeFileSync(out, stripElf(readFileSync(file)), { mode: 0o755 });
    expect(programHeaders(out)).toBe(programHeaders(file));
    const names = sectionNames(out);
    expect(names).toContain('.shstrtab');
    expect(names.filter((n) => /^\.(symtab|strtab|debug_|comment$)/.test(n))).toEqual([]);
    return out;
  }

  test('the hand-built program (x86_64 and aarch64 e_machine)', () => {
    for (const machine of [62, 183]) {
      const file = join(dir, `tiny-${machine}`);
      writeFileSync(file, buildTinyProgram(machine));
      expect(sectionNames(stripAndJudge(file))).toEqual(['', '.text', '.rela.text', '.data', '.bss', '.shstrtab']);
    }
  });

  test.skipIf(!existsSync('/bin/ls'))('/bin/ls: stripped, still runs', () => {
    const out = stripAndJudge('/bin/ls');
    expect(execFileSync(out, ['--version'], { encoding: 'utf8' })).toMatch(/^ls \(GNU coreutils\)/);
  });

  const x64Node = cachedNode('x86_64');
  test.skipIf(!x64Node || process.arch !== 'x64')(
    'Node 26 for x86_64 from the cache: stripped, runs, as small as GNU strip makes it',
    () => {
      const out = stripAndJudge(x64Node!);
      expect(execFileSync(out, ['--version'], { encoding: 'utf8' })).toMatch(/^v26\./);
      const before = statSync(x64Node!).size;
      const ours = statSync(out).size;
      if (hasStrip) {
        const gnu = join(dir, 'node.gnu-strip');
        execFileSync('strip', ['--strip-all', '-o', gnu, x64Node!]);
        const theirs = statSync(gnu).size;
        console.log(`node ${before} B: stripElf → ${ours} B, GNU strip → ${theirs} B`);
        expect(Math.abs(ours - theirs) / theirs).toBeLessThan(0.001);
      }
      expect(ours).toBeLessThan(before * 0.8);
    },
    60_000,
  );

  const arm64Node = cachedNode('aarch64');
  test.skipIf(!arm64Node)(
    'Node 26 for aarch64 from the cache: what the host strip cannot read',
    () => {
      const out = stripAndJudge(arm64Node!);
      expect(decodeElf(readFileSync(out))).toMatchObject({ machine: 183, interp: '/lib/ld-linux-aarch64.so.1' });
      console.log(`node (aarch64) ${statSync(arm64Node!).size} B: stripElf → ${statSync(out).size} B`);
    },
    60_000,
  );
});

const GOLDEN_INPUT = '24e49c7e92bf033558f6d24d3ff5bbdb7d4044492718cfd17dbc79ac609aa744';
const GOLDEN_STRIPPED = 'f4dd3c7a5fa07e2bd651774f2f1be41f8a98e8f0c4b7860e247221b0ee4d86b8';
