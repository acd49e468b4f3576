import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DecodeError } from '../../util/errors.js';
import { decodeCpio, encodeCpio, type CpioEntry } from './index.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1');
const pad = (n: number): string => '\0'.repeat(n);

/** The message of what `fn` throws, with its class, so tests pin both. */
function thrown(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return `${(error as Error).name}: ${(error as Error).message}`;
  }
  return 'nothing thrown';
}

// /init, a symlink whose parent bin/ is missing, mtime 1700000000 = 0x6553F100.
const TINY: CpioEntry[] = [
  { type: 'file', path: '/init', mode: 0o755, data: text('hi\n') },
  { type: 'symlink', path: 'bin/sh', target: '/init' },
];
const TINY_MTIME = 1_700_000_000;

// Written field by field from buffer-format.rst: magic, ino, mode, uid, gid, nlink, mtime, filesize,
// devmajor, devminor, rdevmajor, rdevminor, namesize, check; then name + NUL padded to 4, data padded to 4.
const GOLDEN =
  // @0x0 bin: added parent, S_IFDIR|0755 = 0x41ED, nlink 2, namesize 4; 110 + 4 = 114 → 2 pad
  '070701' +
  '00000001' +
  '000041ED' +
  '00000000' +
  '00000000' +
  '00000002' +
  '6553F100' +
  '00000000' +
  '00000000' +
  '00000000' +
  '00000000' +
  '00000000' +
  '00000004' +
  '00000000' +
  'bin\0' +
  pad(2) +
  // @0x74 bin/sh: S_IFLNK|0777 = 0xA1FF, filesize 5 ("/init"), namesize 7; 110 + 7 = 117 → 3 pad; data 5 → 3 pad
  '070701' +
  '00000002' +
  '0000A1FF' +
  '00000000' +
  '00000000' +
  '00000001' +
  '6553F100' +
  '00000005' +
  '00000000' +
  '00000000' +
  '00000000' +
  '00000000' +
  '00000007' +
  '00000000' +
  'bin/sh\0' +
  pad(3) +
  '/init' +
  pad(3) +
  // @0xF4 init: S_IFREG|0755 = 0x81ED, filesize 3, namesize 5; 110 + 5 = 115 → 1 pad; data @0x168, 3 → 1 pad
  '070701' +
  '00000003' +
  '000081ED' +
  '00000000' +
  '00000000' +
  '00000001' +
  '6553F100' +
  '00000003' +
  '00000000' +
  '00000000' +
  '00000000' +
  '00000000' +
  '00000005' +
  '00000000' +
  'init\0' +
  pad(1) +
  'hi\n' +
  pad(1) +
  // @0x16C trailer: everything 0 but nlink 1 and namesize 11; 110 + 11 = 121 → 3 pad; ends @0x1E8 = 488
  '070701' +
  '00000000' +
  '00000000' +
  '00000000' +
  '00000000' +
  '00000001' +
  '00000000' +
  '00000000' +
  '00000000' +
  '00000000' +
  '00000000' +
  '00000000' +
  '0000000B' +
  '00000000' +
  'TRAILER!!!\0' +
  pad(3);

describe('encodeCpio', () => {
  it('writes the hand-computed golden bytes', () => {
    const bytes = encodeCpio(TINY, { mtime: TINY_MTIME });
    expect(GOLDEN.length).toBe(488);
    expect(latin1(bytes)).toBe(GOLDEN);
  });

  it('is deterministic: the same entries in another order give identical bytes', () => {
    const entries: CpioEntry[] = [
      { type: 'file', path: '/etc/hostname', mode: 0o644, data: text('kiln\n') },
      { type: 'dir', path: '/etc', mode: 0o755 },
      { type: 'char', path: '/dev/console', mode: 0o600, major: 5, minor: 1 },
      { type: 'symlink', path: '/sbin/init', target: '/init' },
      { type: 'file', path: '/init', mode: 0o755, data: text('#!/bin/sh\n') },
    ];
    const a = encodeCpio(entries, { mtime: 42 });
    const b = encodeCpio([...entries].reverse(), { mtime: 42 });
    const c = encodeCpio([entries[2], entries[0], entries[4], entries[1], entries[3]], { mtime: 42 });
    expect(latin1(b)).toBe(latin1(a));
    expect(latin1(c)).toBe(latin1(a));
    expect(a.length % 4).toBe(0);
  });

  it('orders every directory before its contents, component-wise', () => {
    const entries: CpioEntry[] = [
      { type: 'file', path: 'a/b/c', mode: 0o644, data: text('c') },
      { type: 'file', path: 'a-b', mode: 0o644, data: text('x') },
      { type: 'dir', path: 'a/b', mode: 0o700 },
      { type: 'file', path: 'a/b-c', mode: 0o644, data: text('y') },
      { type: 'dir', path: 'a', mode: 0o755 },
      { type: 'file', path: 'a.txt', mode: 0o644, data: text('z') },
    ];
    const paths = decodeCpio(encodeCpio(entries)).entries.map((e) => e.path);
    // '/' sorts below '-' and '.', so a/… comes before a-b and a.txt (plain string order would not do that).
    expect(paths).toEqual(['a', 'a/b', 'a/b/c', 'a/b-c', 'a-b', 'a.txt']);
    paths.forEach((path, index) => {
      const parent = path.slice(0, path.lastIndexOf('/'));
      if (path.includes('/')) expect(paths.indexOf(parent)).toBeLessThan(index);
    });
  });

  it('adds missing parent directories with mode 0o755 and nlink 2', () => {
    const bytes = encodeCpio([{ type: 'file', path: '/usr/lib/x', mode: 0o600, data: text('x') }]);
    expect(decodeCpio(bytes).entries).toEqual([
      { type: 'dir', path: 'usr', mode: 0o755 },
      { type: 'dir', path: 'usr/lib', mode: 0o755 },
      { type: 'file', path: 'usr/lib/x', mode: 0o600, data: text('x') },
    ]);
    expect(latin1(bytes.subarray(38, 46))).toBe('00000002'); // c_nlink of usr
  });

  it('never emits the root and normalises slashes and dots', () => {
    const bytes = encodeCpio([
      { type: 'dir', path: '/', mode: 0o700 },
      { type: 'dir', path: '.', mode: 0o700 },
      { type: 'file', path: '//./etc//passwd/', mode: 0o644, data: text('root:x:0:0::/:/bin/sh\n') },
    ]);
    expect(decodeCpio(bytes).entries.map((e) => e.path)).toEqual(['etc', 'etc/passwd']);
  });

  it('rejects a duplicate path with a TypeError naming it', () => {
    const entries: CpioEntry[] = [
      { type: 'file', path: 'etc/hosts', mode: 0o644, data: text('a') },
      { type: 'dir', path: '/etc/hosts', mode: 0o755 },
    ];
    expect(thrown(() => encodeCpio(entries))).toBe('TypeError: cpio entry "etc/hosts" appears more than once');
  });

  it('rejects shapes and values that do not fit', () => {
    const file = (path: string, mode = 0o644): CpioEntry => ({ type: 'file', path, mode, data: text('') });
    expect(thrown(() => encodeCpio([file('a'), file('a/b')]))).toBe('TypeError: cpio entry "a/b" has parent "a" that is not a directory');
    expect(thrown(() => encodeCpio([file('../etc')]))).toBe('TypeError: cpio path "../etc" contains ".."');
    expect(thrown(() => encodeCpio([file('/')]))).toBe('TypeError: cpio entry "/" is the root but has type file');
    expect(thrown(() => encodeCpio([file('x', 0o100644)]))).toBe('RangeError: cpio entry "x" mode 0o100644 is not permission bits (0..0o7777)');
    expect(thrown(() => encodeCpio([], { mtime: 2 ** 32 }))).toBe('RangeError: cpio option mtime is 4294967296; it must be an integer 0..0xffffffff');
    expect(thrown(() => encodeCpio([{ type: 'block', path: 'dev/sda', mode: 0o660, major: -1, minor: 0 }]))).toBe(
      'RangeError: cpio field rdevmajor of "dev/sda" is -1; it must be an integer 0..0xffffffff',
    );
    expect(thrown(() => encodeCpio([file('x'.repeat(4096))]))).toBe('RangeError: cpio path "' + 'x'.repeat(4096) + '" is 4096 bytes; the kernel allows 4095');
  });
});

describe('decodeCpio', () => {
  it('round-trips every entry type, with mtimes', () => {
    const entries: CpioEntry[] = [
      { type: 'dir', path: 'dev', mode: 0o755 },
      { type: 'char', path: 'dev/console', mode: 0o600, major: 5, minor: 1 },
      { type: 'block', path: 'dev/vda', mode: 0o660, major: 253, minor: 0 },
      { type: 'file', path: 'empty', mode: 0o4755, data: new Uint8Array(0) },
      { type: 'file', path: 'init', mode: 0o755, data: Uint8Array.from({ length: 1001 }, (_, i) => i % 251) },
      { type: 'symlink', path: 'lib', target: 'usr/lib' },
      { type: 'file', path: 'ünïcödé', mode: 0o644, data: text('λ') },
    ];
    const bytes = encodeCpio(entries, { mtime: 0xffffffff });
    const decoded = decodeCpio(bytes);
    expect(decoded.entries).toEqual(entries);
    expect(decoded.mtimes).toEqual(entries.map(() => 0xffffffff));
    expect(decoded.end).toBe(bytes.length);
  });

  it('decodes two concatenated archives, the second from the returned end', () => {
    const first = encodeCpio(TINY);
    const module: CpioEntry = { type: 'file', path: 'lib/modules/a.ko', mode: 0o644, data: text('elf') };
    const second = encodeCpio([module], { mtime: 7 });
    const both = new Uint8Array(first.length + 4 + second.length); // 4 NULs between, as buffer-format.rst allows
    both.set(first, 0);
    both.set(second, first.length + 4);

    const a = decodeCpio(both);
    expect(a.entries.map((e) => e.path)).toEqual(['bin', 'bin/sh', 'init']);
    expect(a.end).toBe(first.length);
    const b = decodeCpio(both, a.end);
    expect(b.entries.map((e) => e.path)).toEqual(['lib', 'lib/modules', 'lib/modules/a.ko']);
    expect(b.mtimes).toEqual([7, 7, 7]);
    expect(b.end).toBe(both.length);
  });

  it('accepts a final trailer without its padding', () => {
    const bytes = encodeCpio(TINY);
    const unpadded = bytes.slice(0, bytes.length - 3); // own buffer, so nothing lies past the end
    const { entries, end } = decodeCpio(unpadded);
    expect(entries.map((e) => e.path)).toEqual(['bin', 'bin/sh', 'init']);
    expect(end).toBe(unpadded.length);
  });

  it('names the offset of a flipped magic byte', () => {
    const bytes = encodeCpio(TINY, { mtime: TINY_MTIME });
    bytes[0x74 + 5] ^= 0x01; // "070701" → "070700" in bin/sh's header
    expect(() => decodeCpio(bytes)).toThrow(DecodeError);
    expect(thrown(() => decodeCpio(bytes))).toBe('DecodeError: Cannot decode cpio header at 0x74: bad magic');
  });

  it('reports truncated input exactly', () => {
    const bytes = encodeCpio(TINY, { mtime: TINY_MTIME });
    expect(thrown(() => decodeCpio(bytes.subarray(0, 0x168 + 1)))).toBe(
      'DecodeError: Cannot decode cpio entry "init" at 0x168: truncated (needs 3 bytes, 1 left)',
    );
    expect(thrown(() => decodeCpio(bytes.subarray(0, 0xf4 + 56)))).toBe('DecodeError: Cannot decode cpio header at 0xf4: truncated (needs 110 bytes, 56 left)');
    expect(thrown(() => decodeCpio(bytes.subarray(0, 0x16c)))).toBe('DecodeError: Cannot decode cpio header at 0x16c: end of input before TRAILER!!!');
  });

  it('rejects a header field that is not hex', () => {
    const bytes = encodeCpio(TINY, { mtime: TINY_MTIME });
    bytes[0x74 + 54 + 7] = 0x47; // 'G' in bin/sh's c_filesize
    expect(thrown(() => decodeCpio(bytes))).toBe('DecodeError: Cannot decode cpio header at 0xaa: filesize "0000000G" is not 8 hex digits');
  });
});

// A second judge: GNU cpio, reading what we write and writing what we read.
const CPIO = '/usr/bin/cpio';
describe.skipIf(!existsSync(CPIO))('GNU cpio agrees', () => {
  let dir = '';
  const scratch = (): string => (dir = mkdtempSync(join(tmpdir(), 'kiln-cpio-')));
  afterEach(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
    dir = '';
  });
  const cpio = (args: string[], input: Uint8Array | string, cwd?: string): string =>
    execFileSync(CPIO, args, { input, cwd, encoding: 'latin1', stdio: ['pipe', 'pipe', 'pipe'] });

  const SAMPLE: CpioEntry[] = [
    { type: 'file', path: '/init', mode: 0o755, data: text('#!/bin/sh\nexec /sbin/init\n') },
    { type: 'file', path: '/etc/shadow', mode: 0o600, data: text('root:*:0::::::\n') },
    { type: 'dir', path: '/var/empty', mode: 0o711 },
    { type: 'symlink', path: '/sbin/init', target: '../init' },
    { type: 'file', path: '/usr/lib/big.bin', mode: 0o644, data: Uint8Array.from({ length: 70_001 }, (_, i) => i % 256) },
  ];

  it('lists our archive with cpio -t in our order', () => {
    const names = cpio(['-it', '--quiet'], encodeCpio(SAMPLE)).trim().split('\n');
    expect(names).toEqual(['etc', 'etc/shadow', 'init', 'sbin', 'sbin/init', 'usr', 'usr/lib', 'usr/lib/big.bin', 'var', 'var/empty']);
  });

  it('shows device numbers and modes with cpio -tv', () => {
    const devices: CpioEntry[] = [
      { type: 'char', path: '/dev/console', mode: 0o600, major: 5, minor: 1 },
      { type: 'block', path: '/dev/vda1', mode: 0o660, major: 253, minor: 1 },
    ];
    const listing = cpio(['-itv', '--quiet'], encodeCpio(devices));
    expect(listing).toMatch(/^drwxr-xr-x +2 root +root +0 .* dev$/m);
    expect(listing).toMatch(/^crw------- +1 root +root +5, +1 .* dev\/console$/m);
    expect(listing).toMatch(/^brw-rw---- +1 root +root +253, +1 .* dev\/vda1$/m);
  });

  it('extracts our archive with cpio -idm: contents, symlink target, modes, mtimes', () => {
    const out = scratch();
    cpio(['-idm', '--quiet', '--no-absolute-filenames'], encodeCpio(SAMPLE, { mtime: 1_234_567_890 }), out);
    for (const entry of SAMPLE) {
      const path = join(out, entry.path);
      const stat = lstatSync(path);
      // GNU cpio does not set a symlink's own mtime (it would need lutimes); everything else carries ours.
      if (entry.type !== 'symlink') expect(stat.mtimeMs / 1000, entry.path).toBe(1_234_567_890);
      if (entry.type === 'file') {
        expect(stat.isFile()).toBe(true);
        expect(stat.mode & 0o7777, entry.path).toBe(entry.mode);
        expect(readFileSync(path).equals(entry.data), entry.path).toBe(true);
      } else if (entry.type === 'dir') {
        expect(stat.isDirectory()).toBe(true);
        expect(stat.mode & 0o7777, entry.path).toBe(entry.mode);
      } else if (entry.type === 'symlink') {
        expect(stat.isSymbolicLink()).toBe(true);
        expect(readlinkSync(path)).toBe(entry.target);
      }
    }
    expect(lstatSync(join(out, 'usr/lib')).mode & 0o7777).toBe(0o755); // an added parent
  });

  it('decodes what cpio -o writes, newc and crc, including hard links', () => {
    const src = scratch();
    mkdirSync(join(src, 'etc'), { mode: 0o750 });
    chmodSync(join(src, 'etc'), 0o750);
    writeFileSync(join(src, 'etc/motd'), 'hello\n');
    chmodSync(join(src, 'etc/motd'), 0o640);
    linkSync(join(src, 'etc/motd'), join(src, 'motd.link'));
    symlinkSync('etc/motd', join(src, 'motd.sym'));
    const names = 'etc\netc/motd\nmotd.link\nmotd.sym\n';

    for (const format of ['newc', 'crc']) {
      const archive = Buffer.from(cpio(['-o', '--quiet', '-H', format], names, src), 'latin1');
      const { entries, end } = decodeCpio(archive);
      expect(entries, format).toEqual([
        { type: 'dir', path: 'etc', mode: 0o750 },
        { type: 'file', path: 'etc/motd', mode: 0o640, data: text('hello\n') },
        { type: 'file', path: 'motd.link', mode: 0o640, data: text('hello\n') },
        { type: 'symlink', path: 'motd.sym', target: 'etc/motd' },
      ]);
      expect(archive.length % 512).toBe(0); // GNU pads to its block size …
      expect(archive.subarray(end).every((b) => b === 0)).toBe(true); // … and end stops before that padding
    }
  });

  it('verifies the crc variant checksum', () => {
    const src = scratch();
    writeFileSync(join(src, 'f'), 'abc');
    const archive = Buffer.from(cpio(['-o', '--quiet', '-H', 'crc'], 'f\n', src), 'latin1');
    expect(latin1(archive.subarray(0, 6))).toBe('070702');
    expect(latin1(archive.subarray(102, 110))).toBe('00000126'); // 0x61 + 0x62 + 0x63
    archive[archive.indexOf('abc', 0, 'latin1')] = 0x41; // 'a' → 'A'
    expect(thrown(() => decodeCpio(archive))).toBe('DecodeError: Cannot decode cpio data of "f" at 0x70: checksum 0x00000106 does not match header 0x00000126');
  });
});
