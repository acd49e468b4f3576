/**
 * The initramfs: each layer a separately compressed cpio archive, laid end to end (the kernel unpacks them in
 * order; see buffer-format.rst). Layers with a key are cached by key + compression + timestamp, so an
 * unchanged runtime is never recompressed.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Arch, Compression } from '../config/schema.js';
import { encodeCpio } from '../formats/cpio/index.js';
import { sha256, tempBeside, type Cache } from '../inputs/cache.js';
import type { LayerPlan } from '../rootfs/layers.js';
import type { Reporter } from '../util/report.js';
import { compress, compressorArgs } from './compress.js';

export interface BuiltLayer {
  name: string;
  cached: boolean;
  uncompressed: number;
  compressed: number;
  parts: Record<string, number>;
}

export interface InitramfsOptions {
  compression: Compression;
  arch: Arch;
  mtime: number;
  cache: Cache;
  reporter: Reporter;
}

export async function buildInitramfs(layers: readonly LayerPlan[], o: InitramfsOptions): Promise<{ data: Buffer; layers: BuiltLayer[] }> {
  const blobs: Buffer[] = [];
  const report: BuiltLayer[] = [];
  const { ext, args } = compressorArgs(o.compression, 1, o.arch);
  for (const layer of layers) {
    const key = layer.key ? sha256(JSON.stringify({ key: layer.key, compressor: args, mtime: o.mtime })) : '';
    const file = key ? o.cache.layerPath(key, ext) : '';
    if (key) {
      const hit = await readCached(file);
      if (hit) {
        blobs.push(hit.data);
        report.push({ ...hit.meta, name: layer.name, cached: true, compressed: hit.data.length });
        continue;
      }
    }
    o.reporter.step(`building layer ${layer.name}`);
    const content = await layer.build();
    const cpio = encodeCpio(content.entries, { mtime: o.mtime });
    const label = `compressing ${layer.name} (${o.compression.algorithm} -${o.compression.level}${o.compression.extreme ? 'e' : ''})`;
    if (cpio.length > 8e6) o.reporter.step(label);
    const data = await compress(cpio, o.compression, o.arch, cpio.length > 8e6 ? o.reporter.progress(label, cpio.length) : undefined);
    const meta = { uncompressed: cpio.length, parts: content.parts };
    if (key) await storeCached(file, data, meta);
    blobs.push(data);
    report.push({ ...meta, name: layer.name, cached: false, compressed: data.length });
  }
  return { data: Buffer.concat(blobs), layers: report };
}

type LayerMeta = { uncompressed: number; parts: Record<string, number> };

async function readCached(file: string): Promise<{ data: Buffer; meta: LayerMeta } | undefined> {
  try {
    const meta = JSON.parse(await readFile(`${file}.json`, 'utf8')) as LayerMeta & { sha256: string };
    const data = await readFile(file);
    // A damaged cache entry is rebuilt rather than shipped.
    if (sha256(data) !== meta.sha256) return undefined;
    return { data, meta: { uncompressed: meta.uncompressed, parts: meta.parts } };
  } catch {
    return undefined;
  }
}

async function storeCached(file: string, data: Buffer, meta: LayerMeta): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = tempBeside(file);
  await writeFile(tmp, data);
  await rename(tmp, file);
  const tmpMeta = tempBeside(`${file}.json`);
  await writeFile(tmpMeta, JSON.stringify({ ...meta, sha256: sha256(data) }));
  await rename(tmpMeta, `${file}.json`);
}
