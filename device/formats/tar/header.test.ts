import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DecodeError } from '../../contract/decode-error.ts';
import { decodeTarHeader, isZeroBlock } from './header.ts';
import { decodePaxRecords } from './pax.ts';

const work = mkdtempSync(path.join(os.tmpdir(), 'kiln-tar-header-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** One file archived by GNU tar with fixed metadata: the independent encoder. */
function archiveOne(format: 'gnu' | 'posix' | 'v7', extra: string[] = []): Uint8Array {
  const src = path.join(work, `src-${format}`);
  mkdirSync(src, { recursive: true });
  writeFileSync(path.join(src, 'hello.txt'), 'hello\n', { mode: 0o640 });
  const out = path.join(work, `${format}.tar`);
  execFileSync('tar', [
    `--format=${format}`,
    '--mtime=@1700000000',
    '--owner=alice:1001',
    '--group=staff:50',
    '--numeric-owner',
    ...extra,
    '-cf',
    out,
    '-C',
    src,
    'hello.txt',
  ]);
  return readFileSync(out);
}

describe('decodeTarHeader', () => {
  it('decodes a GNU header', () => {
    const h = decodeTarHeader(archiveOne('gnu'));
    expect(h).toMatchObject({
      name: 'hello.txt',
      mode: 0o640,
      uid: 1001,
      gid: 50,
      size: 6,
      mtime: 1700000000,
      type: 'file',
      linkName: '',
      format: 'gnu',
      devMajor: 0,
      devMinor: 0,
    });
  });

  it('decodes a v7 header (no magic, no user names)', () => {
    expect(decodeTarHeader(archiveOne('v7'))).toMatchObject({ name: 'hello.txt', size: 6, format: 'v7', uname: '' });
  });

  it('joins the ustar prefix and name', () => {
    const block = new Uint8Array(archiveOne('posix').subarray(0, 512));
    // The first block of a posix archive is the pax header for a long name; hand-make a ustar one instead.
    block.fill(0);
    const put = (at: number, text: string): void => block.set(Buffer.from(text, 'latin1'), at);
    put(0, 'file.txt'); // name (100) @0
    put(100, '0000644\0');
    put(108, '0000000\0');
    put(116, '0000000\0');
    put(124, '00000000000\0');
    put(136, '00000000000\0');
    put(156, '0');
    put(257, 'ustar\0');
    put(263, '00');
    put(345, 'some/prefix'); // prefix (155) @345
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
    put(148, `${sum.toString(8).padStart(6, '0')}\0 `);
    expect(decodeTarHeader(block).name).toBe('some/prefix/file.txt');
  });

  it('reads GNU base-256 numbers (uid past the 7 octal digits)', () => {
    const h = decodeTarHeader(archiveOne('gnu', ['--owner=big:3000000']));
    expect(h.uid).toBe(3000000);
  });

  it('names a flipped byte as a bad checksum, with its offset', () => {
    const block = new Uint8Array(archiveOne('gnu').subarray(0, 512));
    block[1] ^= 0x01;
    expect(() => decodeTarHeader(block, 0, 1024)).toThrow(DecodeError);
    expect(() => decodeTarHeader(block, 0, 1024)).toThrow(/^Cannot decode tar archive at 0x400: bad header checksum: stored \d+, computed \d+$/);
  });

  it('refuses an unknown type flag and a non-octal field', () => {
    const block = new Uint8Array(archiveOne('gnu').subarray(0, 512));
    const reseal = (): void => {
      block.fill(0x20, 148, 156);
      let sum = 0;
      for (const b of block) sum += b;
      block.set(Buffer.from(`${sum.toString(8).padStart(6, '0')}\0 `), 148);
    };
    block[156] = 'S'.charCodeAt(0); // GNU sparse: not supported
    reseal();
    expect(() => decodeTarHeader(block)).toThrow('Cannot decode tar archive at 0x0: unsupported entry type "S"');
    block[156] = '0'.charCodeAt(0);
    block.set(Buffer.from('00009x4'), 124);
    reseal();
    expect(() => decodeTarHeader(block)).toThrow('Cannot decode tar archive at 0x0: size is not octal: "00009x40006"');
  });

  it('knows the zero block', () => {
    expect(isZeroBlock(new Uint8Array(512))).toBe(true);
    expect(isZeroBlock(archiveOne('gnu'))).toBe(false);
  });
});

describe('decodePaxRecords', () => {
  it('decodes records, UTF-8 values and a later duplicate winning', () => {
    const record = (key: string, value: string): string => {
      const body = ` ${key}=${value}\n`;
      let n = Buffer.byteLength(body) + 1;
      if (String(n).length + Buffer.byteLength(body) !== n) n = String(n + 1).length + Buffer.byteLength(body);
      return `${n}${body}`;
    };
    const text = record('path', 'a/ünïcode/name') + record('uid', '7') + record('path', 'b/c');
    const records = decodePaxRecords(Buffer.from(text));
    expect(records.get('path')).toBe('b/c');
    expect(records.get('uid')).toBe('7');
  });

  it('keeps the bytes of an xattr value, which need not be UTF-8', () => {
    const value = Buffer.from([0x00, 0xff, 0x01, 0xc3]);
    const record = Buffer.concat([Buffer.from('30 SCHILY.xattr.user.bin='), value, Buffer.from('\n')]);
    expect(record.length).toBe(30);
    expect(Buffer.from(decodePaxRecords(record).get('SCHILY.xattr.user.bin')!, 'latin1')).toEqual(value);
  });

  it('refuses a record that overruns its length', () => {
    expect(() => decodePaxRecords(Buffer.from('99 path=x\n'), 512)).toThrow('Cannot decode tar archive at 0x200: pax record at byte 0 overruns its length 99');
  });
});
