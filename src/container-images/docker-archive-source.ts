/**
 * Images in `docker save` archives (`docker-archive:<file>[:<name:tag>]`): unpacked into a scratch folder of
 * the cache, presented as an OCI manifest that kiln makes (see docker-save.ts). Its digest is stable, so a
 * pin in kiln.lock keeps meaning the same archive content.
 */
import { createHash } from 'node:crypto';
import { open, readFile, realpath, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { sha256File } from '../inputs/cache.js';
import { KilnError } from '../util/errors.js';
import type { ImageBlobStore } from './blob-store.js';
import { decodeDockerSaveManifest, dockerSaveTags, encodeOciManifest, selectDockerSaveEntry } from './docker-save.js';
import { unpackArchive } from './layout-source.js';
import type { Descriptor } from './manifest.js';
import { ociLayerType, OCI_MANIFEST, sniffCompression } from './media-types.js';
import type { FetchedManifest, ImageSource } from './source.js';

export class DockerArchiveSource implements ImageSource {
  private readonly ref: string;
  private readonly scratch: string;
  private readonly manifestBytes: Buffer;
  /** digest → file in the scratch folder */
  private readonly files: Map<string, string>;

  private constructor(ref: string, scratch: string, manifestBytes: Buffer, files: Map<string, string>) {
    this.ref = ref;
    this.scratch = scratch;
    this.manifestBytes = manifestBytes;
    this.files = files;
  }

  static async open(ref: string, file: string, name: string | undefined, cacheDir: string): Promise<DockerArchiveSource> {
    const scratch = await unpackArchive(ref, file, cacheDir);
    try {
      let entries;
      try {
        entries = decodeDockerSaveManifest(await readFile(path.join(scratch, 'manifest.json')));
      } catch (err) {
        const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no manifest.json in the archive' : (err as Error).message;
        throw new KilnError('IMAGE_INVALID', `image "${ref}": not a docker save archive: ${why}`, {
          hint: 'make it with `docker save` or skopeo copy ... docker-archive:<file>; for OCI archives write oci-archive:',
        });
      }
      const entry = selectDockerSaveEntry(entries, name);
      if (!entry) {
        const tags = dockerSaveTags(entries).join(', ') || 'none';
        const problem = name === undefined ? `the archive holds ${entries.length} images; name one` : `no image "${name}" in the archive`;
        throw new KilnError('IMAGE_NOT_FOUND', `image "${ref}": ${problem} (tags: ${tags})`, {
          hint: 'write docker-archive:<file>:<name:tag> with one of the tags',
        });
      }
      const files = new Map<string, string>();
      const root = await realpath(scratch);
      const describe = async (member: string): Promise<{ digest: string; size: number; file: string; head: Buffer }> => {
        // Older `docker save` lists "<id>/layer.tar", a symlink to the layer: follow it, but not out of the archive.
        let file: string;
        let size: number;
        try {
          file = await realpath(path.join(scratch, member));
          size = (await stat(file)).size;
        } catch {
          throw new KilnError('IMAGE_INVALID', `image "${ref}": manifest.json names ${member}, which is not in the archive`, {
            hint: 'the archive is incomplete; save it again',
          });
        }
        if (!file.startsWith(`${root}${path.sep}`))
          throw new KilnError('IMAGE_INVALID', `image "${ref}": manifest.json names ${member}, which leads out of the archive`, {
            hint: 'the archive is not a docker save archive kiln can trust',
          });
        const digest = `sha256:${await sha256File(file)}`;
        files.set(digest, file);
        return { digest, size, file, head: await readHead(file) };
      };
      const config = await describe(entry.Config);
      const layers: Descriptor[] = [];
      for (const member of entry.Layers) {
        const layer = await describe(member);
        layers.push({ mediaType: ociLayerType(sniffCompression(layer.head)), digest: layer.digest, size: layer.size });
      }
      return new DockerArchiveSource(ref, scratch, encodeOciManifest(config, layers), files);
    } catch (err) {
      await rm(scratch, { recursive: true, force: true });
      throw err;
    }
  }

  async top(): Promise<FetchedManifest> {
    return { bytes: this.manifestBytes, mediaType: OCI_MANIFEST };
  }

  async manifest(digest: string): Promise<FetchedManifest> {
    const own = `sha256:${createHash('sha256').update(this.manifestBytes).digest('hex')}`;
    if (digest !== own) {
      throw new KilnError('IMAGE_NOT_FOUND', `image "${this.ref}": the archive no longer holds the pinned image ${digest} (it holds ${own})`, {
        hint: 'if the archive was rebuilt on purpose, re-pin it with `kiln lock --update`',
      });
    }
    return { bytes: this.manifestBytes, mediaType: OCI_MANIFEST };
  }

  async blob(descriptor: Descriptor, store: ImageBlobStore): Promise<string> {
    const file = this.files.get(descriptor.digest);
    if (!file)
      throw new KilnError('IMAGE_NOT_FOUND', `image "${this.ref}": blob ${descriptor.digest} is not in the archive`, {
        hint: 'the archive is incomplete; save it again',
      });
    return store.putFile(descriptor, file, { move: true });
  }

  async close(): Promise<void> {
    await rm(this.scratch, { recursive: true, force: true });
  }
}

async function readHead(file: string): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(8);
    const { bytesRead } = await handle.read(head, 0, 8, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
