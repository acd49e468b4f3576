/**
 * A streaming tar reader: chunks in (from a file, through gunzip or zstd), entries out, each with its body as
 * chunks, so a layer of tens of MB never sits in memory. Pure: it only iterates what it is given.
 *
 * Hand-written rather than an npm package because device code may depend on nothing but Node's built-ins (and
 * zod, yaml), because its output must be deterministic and exactly what the OCI layer rules need (no umask, no
 * "helpful" path rewriting, errors instead of guesses), and because what a container layer uses of tar —
 * ustar, GNU long names, pax path/size/ids/mtime — fits in a few hundred lines.
 */
import { BLOCK_SIZE, decodeTarHeader, isZeroBlock, tarError, type TarHeader } from './header.ts';
import { decodePaxRecords, PAX_XATTR_PREFIX, paxNumber } from './pax.ts';

export type TarEntryType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'directory' | 'fifo';

export interface TarEntry {
  /** As written in the archive, after pax/GNU long names: not normalised (may start with "./" or "/"). */
  path: string;
  type: TarEntryType;
  /** Permission bits and setuid/setgid/sticky (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** Bytes of body; 0 for everything but files. */
  size: number;
  /** Seconds since the epoch, possibly fractional (pax). */
  mtime: number;
  /** Symlink target, or the archive path a hard link points at; "" otherwise. */
  linkPath: string;
  devMajor: number;
  devMinor: number;
  /** Extended attributes from pax `SCHILY.xattr.<name>` records (GNU tar --xattrs, Go's archive/tar), by name. */
  xattrs: Record<string, Uint8Array>;
  /** Byte offset of the entry's header in the decompressed archive. */
  offset: number;
  /**
   * The body, streamed. Read it before asking for the next entry, or not at all: what is left is skipped.
   * It cannot be read after the reader moved on.
   */
  body: AsyncIterable<Uint8Array>;
}

/** Upper bound for GNU long-name and pax bodies, which are held in memory (a path is at most a few KB). */
const MAX_META_BODY = 1 << 20;

/**
 * Reads the entries of a tar archive from `source`. The archive ends at two zero blocks (or one, or a clean end
 * of input at a block boundary); the rest of `source` is read to its end and ignored, so a hash taken on the way
 * sees every byte. A truncated entry is a `DecodeError`.
 * @example for await (const entry of readTar(fs.createReadStream('layer.tar'))) console.log(entry.path)
 */
export async function* readTar(source: AsyncIterable<Uint8Array>): AsyncGenerator<TarEntry> {
  const input = new ByteSource(source);
  try {
    yield* entries(input);
  } finally {
    await input.close(); // a consumer that stops early (an error) must not leave the file open
  }
}

async function* entries(input: ByteSource): AsyncGenerator<TarEntry> {
  let globals = new Map<string, string>();
  let locals = new Map<string, string>();
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    const offset = input.position;
    const block = await input.readExactly(BLOCK_SIZE);
    if (block === undefined) break; // clean end without the end-of-archive blocks
    if (isZeroBlock(block)) break;
    const header = decodeTarHeader(block, 0, offset);
    const padded = Math.ceil(header.size / BLOCK_SIZE) * BLOCK_SIZE;
    switch (header.type) {
      case 'pax-local':
      case 'pax-global': {
        const records = decodePaxRecords(await readMeta(input, header, offset), offset);
        await input.skip(padded - header.size, offset);
        if (header.type === 'pax-global') globals = new Map([...globals, ...records]);
        else locals = records;
        continue;
      }
      case 'gnu-long-name':
      case 'gnu-long-link': {
        const body = Buffer.from(await readMeta(input, header, offset));
        await input.skip(padded - header.size, offset);
        const end = body.indexOf(0);
        const value = body.toString('utf8', 0, end < 0 ? body.length : end);
        if (header.type === 'gnu-long-name') longName = value;
        else longLink = value;
        continue;
      }
      case 'gnu-volume':
        await input.skip(padded, offset);
        continue;
    }
    const pax = new Map([...globals, ...locals]);
    const size = paxNumber(pax, 'size', offset) ?? header.size;
    const type = header.type;
    const bodySize = type === 'file' ? size : 0;
    // Links, folders and nodes may carry a size in the header, but no data follows them (as Go's archive/tar reads).
    const skipAfter = type === 'file' ? Math.ceil(size / BLOCK_SIZE) * BLOCK_SIZE : 0;
    const entryPath = pax.get('path') ?? longName ?? header.name;
    let remaining = bodySize;
    let active = true;
    const body = async function* (): AsyncGenerator<Uint8Array> {
      while (remaining > 0) {
        if (!active) throw new Error('tar entry body read after the reader moved on');
        const chunk = await input.readSome(remaining);
        if (chunk === undefined) throw tarError(`archive ends inside ${JSON.stringify(entryPath)}`, offset);
        remaining -= chunk.length;
        yield chunk;
      }
    };
    const entry: TarEntry = {
      path: entryPath,
      type,
      mode: header.mode & 0o7777,
      uid: paxNumber(pax, 'uid', offset) ?? header.uid,
      gid: paxNumber(pax, 'gid', offset) ?? header.gid,
      uname: pax.get('uname') ?? header.uname,
      gname: pax.get('gname') ?? header.gname,
      size: bodySize,
      mtime: paxNumber(pax, 'mtime', offset, true) ?? header.mtime,
      linkPath: pax.get('linkpath') ?? longLink ?? header.linkName,
      devMajor: header.devMajor,
      devMinor: header.devMinor,
      xattrs: xattrsOf(pax),
      offset,
      body: body(),
    };
    locals = new Map();
    longName = undefined;
    longLink = undefined;
    yield entry;
    active = false;
    await input.skip(remaining, offset, entry.path);
    // Padding to the block: some writers (umoci 0.4) end the archive right after the last body, without padding
    // or end blocks. The body is whole, so that is an end, not a truncation.
    if (!(await input.skipUpTo(skipAfter - bodySize))) break;
  }
  await input.drain();
}

function xattrsOf(pax: Map<string, string>): Record<string, Uint8Array> {
  const xattrs: Record<string, Uint8Array> = {};
  for (const [key, value] of pax) {
    if (key.startsWith(PAX_XATTR_PREFIX)) xattrs[key.slice(PAX_XATTR_PREFIX.length)] = Buffer.from(value, 'latin1');
  }
  return xattrs;
}

async function readMeta(input: ByteSource, header: TarHeader, offset: number): Promise<Uint8Array> {
  if (header.size > MAX_META_BODY) throw tarError(`${header.type} body of ${header.size} bytes is too large`, offset);
  const body = await input.readExactly(header.size);
  if (body === undefined) throw tarError(`archive ends inside a ${header.type} header`, offset);
  return body;
}

/** Chunks in, exact reads out; `position` counts bytes handed out or skipped. */
class ByteSource {
  position = 0;
  private readonly iterator: AsyncIterator<Uint8Array>;
  private chunk: Uint8Array = new Uint8Array(0);
  private done = false;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** False at the end of input. */
  private async fill(): Promise<boolean> {
    while (this.chunk.length === 0) {
      if (this.done) return false;
      const next = await this.iterator.next();
      if (next.done) {
        this.done = true;
        return false;
      }
      this.chunk = next.value;
    }
    return true;
  }

  /** Up to `max` bytes (at least one), or undefined at the end of input. Shares memory with the input chunk. */
  async readSome(max: number): Promise<Uint8Array | undefined> {
    if (!(await this.fill())) return undefined;
    const out = this.chunk.subarray(0, Math.min(max, this.chunk.length));
    this.chunk = this.chunk.subarray(out.length);
    this.position += out.length;
    return out;
  }

  /** Exactly `n` bytes (copied), or undefined when the input ends first: cleanly at 0 bytes, else an error. */
  async readExactly(n: number): Promise<Uint8Array | undefined> {
    const start = this.position;
    const first = await this.readSome(n);
    if (first === undefined) return n === 0 ? new Uint8Array(0) : undefined;
    if (first.length === n) return first.slice();
    const out = new Uint8Array(n);
    out.set(first, 0);
    let have = first.length;
    while (have < n) {
      const more = await this.readSome(n - have);
      if (more === undefined) throw tarError(`archive ends after ${have} of ${n} bytes`, start);
      out.set(more, have);
      have += more.length;
    }
    return out;
  }

  async skip(n: number, offset: number, path?: string): Promise<void> {
    while (n > 0) {
      const part = await this.readSome(n);
      if (part === undefined) {
        throw tarError(path === undefined ? 'archive ends inside a header body' : `archive ends inside ${JSON.stringify(path)}`, offset);
      }
      n -= part.length;
    }
  }

  /** Skips up to `n` bytes; false when the input ended first. */
  async skipUpTo(n: number): Promise<boolean> {
    while (n > 0) {
      const part = await this.readSome(n);
      if (part === undefined) return false;
      n -= part.length;
    }
    return true;
  }

  /** Ends the input early (its `return`), unless it already ended. */
  async close(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.iterator.return?.();
  }

  /** Reads the input to its end (the padding after the end-of-archive blocks, and whatever follows). */
  async drain(): Promise<void> {
    this.chunk = new Uint8Array(0);
    while (!this.done) {
      const next = await this.iterator.next();
      if (next.done) this.done = true;
    }
  }
}
