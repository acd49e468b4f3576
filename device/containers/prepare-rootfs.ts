/**
 * An image's root filesystem, unpacked once per manifest into `<rootsDir>/<manifest hex>/rootfs` and reused
 * while the image is unchanged. Layers are unpacked in order into `<hex>.partial-*` and the folder is renamed into
 * place only when complete, with a marker written (and fsynced) last inside it: a folder without the marker, or a
 * partial one (power cut, digest mismatch), is removed and done again. Every layer is checked while it is read:
 * the compressed bytes against the manifest's digest, the tar against the config's diff_id.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readTar } from '../formats/tar/index.ts';
import { applyLayer, type ApplyLayerOptions, type ApplyLayerReport } from './apply-layer.ts';
import { decompress } from './decompress.ts';
import type { ImageConfig } from './image-config.ts';
import { BlobMismatchError, ImageStoreError } from './image-errors.ts';
import type { ImageStore } from './image-store.ts';

/** Written last: its presence means the rootfs beside it is complete. */
export const ROOTFS_MARKER = 'kiln-rootfs.json';

export interface PreparedRootfs {
  /** `<rootsDir>/<manifest hex>/rootfs` */
  rootfs: string;
  image: ImageConfig;
  manifestDigest: string;
  /** True when a finished rootfs was found and nothing was unpacked. */
  reused: boolean;
  /** What the layers could not reproduce exactly (device nodes without mknod, chown refused). */
  skipped: ApplyLayerReport['skipped'];
}

export interface PrepareRootfsOptions extends ApplyLayerOptions {
  /**
   * Make every file and folder durable (fsync) before the rootfs is marked finished, so a power cut never leaves
   * a finished-looking rootfs with empty files. Done once at the end, many at a time (on ext4 about 4x faster
   * than one fsync per file as it is written). @default true
   */
  fsync?: boolean;
  /** For an image index: which manifest. @default linux and this machine's architecture */
  platform?: { os: string; architecture: string };
}

interface Marker {
  manifestDigest: string;
  image: ImageConfig;
  skipped: ApplyLayerReport['skipped'];
}

/** Concurrent calls for the same image share one unpacking. */
const inFlight = new Map<string, Promise<PreparedRootfs>>();

/**
 * The unpacked root filesystem of `image` (a ref name in the store or a manifest digest) and its config.
 * @example const { rootfs, image } = await prepareRootfs(store, 'web', '/data/containers/roots')
 */
export async function prepareRootfs(store: ImageStore, image: string, rootsDir: string, options: PrepareRootfsOptions = {}): Promise<PreparedRootfs> {
  const descriptor = await store.findManifest(image, options.platform);
  const hex = descriptor.digest.slice(descriptor.digest.indexOf(':') + 1);
  const finalDir = path.join(rootsDir, hex);
  const running = inFlight.get(finalDir);
  if (running !== undefined) return running;
  const work = (async (): Promise<PreparedRootfs> => {
    const done = await readMarker(finalDir, descriptor.digest);
    if (done !== undefined)
      return { rootfs: path.join(finalDir, 'rootfs'), image: done.image, manifestDigest: descriptor.digest, reused: true, skipped: done.skipped };
    await mkdir(rootsDir, { recursive: true });
    // What a power cut or a failure left: an unfinished folder, or one without its marker.
    for (const name of await readdir(rootsDir)) {
      if (name === hex || name.startsWith(`${hex}.partial-`)) await rm(path.join(rootsDir, name), { recursive: true, force: true });
    }
    const partial = path.join(rootsDir, `${hex}.partial-${process.pid}-${Date.now().toString(36)}`);
    try {
      const rootfs = path.join(partial, 'rootfs');
      await mkdir(rootfs, { recursive: true, mode: 0o755 });
      const manifest = await store.readManifest(descriptor);
      const config = await store.readConfig(manifest);
      if (config.diffIds.length !== manifest.layers.length) {
        throw new ImageStoreError(`manifest ${descriptor.digest} has ${manifest.layers.length} layers but its config lists ${config.diffIds.length} diff_ids`);
      }
      const skipped: ApplyLayerReport['skipped'] = [];
      for (const [i, layer] of manifest.layers.entries()) {
        const tar = verifyDiffId(decompress(store.openBlob(layer)), layer.digest, config.diffIds[i]!);
        try {
          const report = await applyLayer(rootfs, readTar(tar), { ...options, fsync: false });
          skipped.push(...report.skipped);
        } catch (error) {
          // A corrupt blob usually breaks gunzip or the tar reader before its hash is complete: say what it is.
          if (!(error instanceof BlobMismatchError)) await store.verifyBlob(layer);
          throw error;
        }
      }
      if (options.fsync !== false) await syncTree(rootfs);
      const marker: Marker = { manifestDigest: descriptor.digest, image: config, skipped };
      await writeFile(path.join(partial, ROOTFS_MARKER), `${JSON.stringify(marker, null, 2)}\n`);
      if (options.fsync !== false) {
        await syncPath(path.join(partial, ROOTFS_MARKER));
        await syncPath(partial);
      }
      await rename(partial, finalDir);
      if (options.fsync !== false) await syncPath(rootsDir);
      return { rootfs: path.join(finalDir, 'rootfs'), image: config, manifestDigest: descriptor.digest, reused: false, skipped };
    } catch (error) {
      await rm(partial, { recursive: true, force: true });
      throw error;
    }
  })();
  inFlight.set(finalDir, work);
  try {
    return await work;
  } finally {
    inFlight.delete(finalDir);
  }
}

async function readMarker(finalDir: string, digest: string): Promise<Marker | undefined> {
  try {
    const marker = JSON.parse(await readFile(path.join(finalDir, ROOTFS_MARKER), 'utf8')) as Marker;
    return marker.manifestDigest === digest && typeof marker.image === 'object' ? { ...marker, skipped: marker.skipped ?? [] } : undefined;
  } catch {
    return undefined;
  }
}

/** Passes `tar` through, checking its sha256 against the config's diff_id at the end. */
async function* verifyDiffId(tar: AsyncIterable<Uint8Array>, layerDigest: string, diffId: string): AsyncGenerator<Uint8Array> {
  const algorithm = diffId.slice(0, diffId.indexOf(':'));
  if (algorithm !== 'sha256' && algorithm !== 'sha512') throw new ImageStoreError(`layer ${layerDigest}: unsupported diff_id ${JSON.stringify(diffId)}`);
  const hash = createHash(algorithm);
  for await (const chunk of tar) {
    hash.update(chunk);
    yield chunk;
  }
  const found = `${algorithm}:${hash.digest('hex')}`;
  if (found !== diffId) throw new BlobMismatchError(`${layerDigest} (uncompressed)`, 'digest', diffId, found);
}

/** How many fsyncs are in flight at once: the file system merges them into few journal commits. */
const SYNC_CONCURRENCY = 32;

/** fsyncs every regular file and folder under `dir`. */
async function syncTree(dir: string): Promise<void> {
  const paths: string[] = [];
  const walk = async (folder: string): Promise<void> => {
    paths.push(folder);
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      if (entry.isDirectory()) await walk(path.join(folder, entry.name));
      else if (entry.isFile()) paths.push(path.join(folder, entry.name));
    }
  };
  await walk(dir);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < paths.length) await syncPath(paths[next++]!);
  };
  await Promise.all(Array.from({ length: SYNC_CONCURRENCY }, worker));
}

async function syncPath(file: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
