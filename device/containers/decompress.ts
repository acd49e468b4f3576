/**
 * Layer blobs come as plain tar, gzip or zstd. The compression is read from the first bytes, not trusted from
 * the media type: registries and tools mislabel (docker's "tar.gzip" that is plain tar, zstd layers labelled gzip).
 */
import { Readable, pipeline } from 'node:stream';
import zlib from 'node:zlib';

export type Compression = 'gzip' | 'zstd' | 'none';

/** gzip: 1f 8b (RFC 1952); zstd frame: 28 b5 2f fd (RFC 8878, little-endian 0xFD2FB528). */
const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];
const XZ_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const BZIP2_MAGIC = [0x42, 0x5a, 0x68];
/** Output chunks of 256 KiB rather than zlib's 16: a quarter of the writes for big files. */
const CHUNK_SIZE = 256 * 1024;
/** Enough bytes to tell them apart. */
export const MAGIC_BYTES = 6;

export class UnsupportedCompressionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedCompressionError';
  }
}

function startsWith(head: Uint8Array, magic: number[]): boolean {
  return head.length >= magic.length && magic.every((byte, i) => head[i] === byte);
}

/**
 * The compression of a blob from its first bytes (at least `MAGIC_BYTES` of them unless the blob is shorter).
 * @example detectCompression(new Uint8Array([0x1f, 0x8b, 8, 0])) // "gzip"
 */
export function detectCompression(head: Uint8Array): Compression {
  if (startsWith(head, GZIP_MAGIC)) return 'gzip';
  if (startsWith(head, ZSTD_MAGIC)) return 'zstd';
  if (startsWith(head, XZ_MAGIC)) throw new UnsupportedCompressionError('xz-compressed layers are not supported (OCI layers are tar, gzip or zstd)');
  if (startsWith(head, BZIP2_MAGIC)) throw new UnsupportedCompressionError('bzip2-compressed layers are not supported (OCI layers are tar, gzip or zstd)');
  return 'none';
}

/** True when this Node can decompress zstd (zlib gained it in Node 22.15 / 23.8; the device runs 26). */
export function hasZstd(): boolean {
  return typeof (zlib as { createZstdDecompress?: unknown }).createZstdDecompress === 'function';
}

/**
 * The uncompressed bytes of `source`, whichever of plain, gzip or zstd it is. Errors of the source (a digest
 * mismatch found at its end) and of the decompressor come out of the iteration.
 * @example readTar(decompress(fs.createReadStream('blob')))
 */
export async function* decompress(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let headLength = 0;
  let ended = false;
  while (headLength < MAGIC_BYTES) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    head.push(next.value);
    headLength += next.value.length;
  }
  const first = Buffer.concat(head);
  const kind = detectCompression(first);
  const rest = async function* (): AsyncGenerator<Uint8Array> {
    try {
      if (first.length > 0) yield first;
      while (!ended) {
        const next = await iterator.next();
        if (next.done) ended = true;
        else yield next.value;
      }
    } finally {
      if (!ended) await iterator.return?.(); // stopped early: close the file behind it
    }
  };
  if (kind === 'none') {
    yield* rest();
    return;
  }
  const inflater = kind === 'gzip' ? zlib.createGunzip({ chunkSize: CHUNK_SIZE }) : createZstdDecompress();
  // pipeline destroys the inflater with the source's error, so the loop below throws it.
  const out = pipeline(Readable.from(rest(), { objectMode: false }), inflater, () => {});
  for await (const chunk of out) yield chunk as Uint8Array;
}

function createZstdDecompress(): zlib.ZstdDecompress {
  if (!hasZstd()) {
    throw new UnsupportedCompressionError(`this Node (${process.version}) cannot decompress zstd layers: zlib.createZstdDecompress needs Node >= 22.15`);
  }
  return zlib.createZstdDecompress({ chunkSize: CHUNK_SIZE });
}
