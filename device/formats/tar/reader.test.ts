import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  createReadStream,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
  chmodSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecodeError } from '../../contract/decode-error.ts';
import { readTar, type TarEntry } from './reader.ts';

const work = mkdtempSync(path.join(os.tmpdir(), 'kiln-tar-reader-'));
const src = path.join(work, 'src');
afterAll(() => rmSync(work, { recursive: true, force: true }));

const LONG_DIR = `${'d'.repeat(60)}/${'e'.repeat(60)}`;
const LONG_FILE = `${LONG_DIR}/${'f'.repeat(80)}.txt`; // 203 characters: needs GNU L or pax path
const LONG_TARGET = `../${'t'.repeat(120)}`;
const big = randomBytes(300_000); // spans many input chunks and has a partial last block

beforeAll(() => {
  mkdirSync(path.join(src, LONG_DIR), { recursive: true });
  writeFileSync(path.join(src, LONG_FILE), 'long\n');
  writeFileSync(path.join(src, 'big.bin'), big);
  writeFileSync(path.join(src, 'empty'), '');
  writeFileSync(path.join(src, 'suid'), '#!/bin/sh\n');
  chmodSync(path.join(src, 'suid'), 0o4755);
  mkdirSync(path.join(src, 'private'), { mode: 0o750 });
  chmodSync(path.join(src, 'private'), 0o750);
  symlinkSync('big.bin', path.join(src, 'link'));
  symlinkSync(LONG_TARGET, path.join(src, 'longlink'));
  linkSync(path.join(src, 'big.bin'), path.join(src, 'hard'));
  execFileSync('mkfifo', [path.join(src, 'fifo')]);
  if (process.getuid?.() === 0) execFileSync('mknod', [path.join(src, 'null'), 'c', '1', '3']);
  for (const name of ['big.bin', 'empty', 'suid', LONG_FILE]) utimesSync(path.join(src, name), 1_600_000_000, 1_600_000_000);
});

interface Seen {
  path: string;
  type: string;
  mode: number;
  size: number;
  linkPath: string;
  sha: string;
  mtime: number;
  uid: number;
  dev?: string;
}

async function entriesOf(chunks: AsyncIterable<Uint8Array>): Promise<Seen[]> {
  const seen: Seen[] = [];
  for await (const e of readTar(chunks)) seen.push(await summarise(e));
  return seen;
}

async function summarise(e: TarEntry): Promise<Seen> {
  const hash = createHash('sha256');
  for await (const chunk of e.body) hash.update(chunk);
  return {
    path: e.path.replace(/^\.\//, '').replace(/\/$/, ''),
    type: e.type,
    mode: e.mode,
    size: e.size,
    linkPath: e.linkPath,
    sha: hash.digest('hex'),
    mtime: Math.floor(e.mtime),
    uid: e.uid,
    ...(e.type === 'char' ? { dev: `${e.devMajor}:${e.devMinor}` } : {}),
  };
}

/** What the archive should hold, from the source tree itself (tar lists hard links after their first name). */
function expected(hardLinkTarget: string): Seen[] {
  const out: Seen[] = [];
  const seenInodes = new Map<number, string>();
  const walk = (rel: string): void => {
    const full = path.join(src, rel);
    const st = lstatSync(full);
    const mode = st.mode & 0o7777;
    const base = { path: rel, mode, mtime: Math.floor(st.mtimeMs / 1000), uid: st.uid, linkPath: '', size: 0, sha: createHash('sha256').digest('hex') };
    if (st.isDirectory()) {
      if (rel !== '') out.push({ ...base, type: 'directory' });
      return;
    }
    if (st.isSymbolicLink()) out.push({ ...base, type: 'symlink', linkPath: readlinkSync(full) });
    else if (st.isFIFO()) out.push({ ...base, type: 'fifo' });
    else if (st.isCharacterDevice()) out.push({ ...base, type: 'char', dev: '1:3' });
    else if (st.nlink > 1 && seenInodes.has(st.ino)) out.push({ ...base, type: 'hardlink', linkPath: `${hardLinkTarget}${seenInodes.get(st.ino)}` });
    else {
      seenInodes.set(st.ino, rel);
      const data = readFileSync(full);
      out.push({ ...base, type: 'file', size: data.length, sha: createHash('sha256').update(data).digest('hex') });
    }
  };
  // Same order as the archive: tar -T with a sorted list.
  for (const rel of listing()) walk(rel);
  return out;
}

function listing(): string[] {
  return execFileSync('find', ['.', '-mindepth', '1'], { cwd: src, encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((p) => p.slice(2))
    .sort();
}

function archive(format: string, name: string): string {
  const out = path.join(work, name);
  const list = path.join(work, 'list');
  writeFileSync(list, `${listing().join('\n')}\n`);
  execFileSync('tar', [`--format=${format}`, '--no-recursion', '-cf', out, '-C', src, '-T', list]);
  return out;
}

describe('readTar', () => {
  it.each(['gnu', 'posix'])('reads a %s archive: long names and link targets, links, fifo, device, modes', async (format) => {
    const file = archive(format, `${format}.tar`);
    // Small chunks: every header and body split across chunk edges.
    const got = await entriesOf(createReadStream(file, { highWaterMark: 777 }));
    expect(got).toEqual(expected(''));
    expect(got.map((e) => e.path)).toContain(LONG_FILE);
    expect(got.find((e) => e.path === 'longlink')?.linkPath).toBe(LONG_TARGET);
  });

  it('reads pax uid, gid and fractional mtime', async () => {
    const out = path.join(work, 'pax.tar');
    execFileSync('tar', ['--format=posix', '--owner=big:3000000', '--group=big:3000001', '--pax-option=mtime:=1700000000.25', '-cf', out, '-C', src, 'empty']);
    const [e] = await collect(createReadStream(out));
    expect(e).toMatchObject({ path: 'empty', uid: 3000000, gid: 3000001, mtime: 1700000000.25 });
  });

  it('skips bodies that are not read', async () => {
    const file = archive('gnu', 'skip.tar');
    const paths: string[] = [];
    for await (const e of readTar(createReadStream(file, { highWaterMark: 1000 }))) paths.push(e.path.replace(/\/$/, ''));
    expect(paths).toEqual(listing());
  });

  it('names a truncated archive', async () => {
    const bytes = readFileSync(archive('gnu', 'cut.tar'));
    const offset = bytes.indexOf(Buffer.from('big.bin\0'));
    const cut = bytes.subarray(0, offset + 512 + 4096);
    const error = await collect(
      (async function* () {
        yield cut;
      })(),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DecodeError);
    expect((error as Error).message).toBe(`Cannot decode tar archive at 0x${offset.toString(16)}: archive ends inside "big.bin"`);
    // The same while the body is being read: its reader must not take a short body for a whole one.
    const readBody = async (): Promise<unknown> => {
      for await (const e of readTar(
        (async function* () {
          yield cut;
        })(),
      )) {
        if (!e.path.endsWith('big.bin')) continue;
        try {
          for await (const chunk of e.body) void chunk;
        } catch (error) {
          return error;
        }
        return undefined;
      }
    };
    const whileReading = await readBody();
    expect((whileReading as Error | undefined)?.message).toBe(`Cannot decode tar archive at 0x${offset.toString(16)}: archive ends inside "big.bin"`);
  });

  it('reads an empty archive, with or without end blocks', async () => {
    expect(
      await collect(
        (async function* () {
          yield new Uint8Array(10240);
        })(),
      ),
    ).toEqual([]);
    expect(await collect((async function* () {})())).toEqual([]);
  });
});

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<TarEntry[]> {
  const out: TarEntry[] = [];
  for await (const e of readTar(chunks)) out.push(e);
  return out;
}
