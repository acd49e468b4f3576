/**
 * The config's container images for one architecture, resolved and pinned: kiln.lock keeps each container's
 * manifest digest under "<arch>/container/<name>". A pinned image is fetched (or found in the cache) by exactly
 * that digest; an unpinned one, or one whose reference changed, is resolved and its digest written to the lock.
 * Errors name the container: `containers[1] (web).image: ...`.
 */
import path from 'node:path';
import type { ContainerConfig } from '../../device/contract/config/containers-schema.ts';
import { LOCK_NAME, emptyLock, readLock, writeLock, type ImageLockEntry } from '../inputs/lock.js';
import { KilnError } from '../util/errors.js';
import type { Reporter } from '../util/report.js';
import { resolveImage, type ResolvedImage } from './index.js';
import { parseImageRef } from './reference.js';
import type { Arch } from './platform.js';

export interface PinnedImage {
  name: string;
  image: ResolvedImage;
}

export interface PinOptions {
  arch: Arch;
  configDir: string;
  configName: string;
  cacheRoot: string;
  reporter: Reporter;
}

function tagOf(ref: string): string {
  try {
    const parsed = parseImageRef(ref) as { tag?: string; digest?: string };
    return parsed.tag ?? (parsed.digest !== undefined ? 'digest' : 'latest');
  } catch {
    return 'latest';
  }
}

export async function pinContainerImages(containers: readonly ContainerConfig[], o: PinOptions): Promise<PinnedImage[]> {
  if (containers.length === 0) return [];
  const lockFile = path.join(o.configDir, LOCK_NAME);
  const lock = (await readLock(lockFile)) ?? emptyLock();
  let changed = false;
  const pinned: PinnedImage[] = [];
  for (const [i, c] of containers.entries()) {
    const key = `${o.arch}/container/${c.name}`;
    const entry = lock.inputs[key];
    const pin = entry?.type === 'image' && entry.request === c.image ? `sha256:${entry.sha256}` : undefined;
    o.reporter.step(`${pin === undefined ? 'resolving' : 'checking'} the image of container ${c.name}: ${c.image}`);
    let image: ResolvedImage;
    try {
      image = await resolveImage(c.image, { arch: o.arch, configDir: o.configDir, pinned: pin, cacheDir: o.cacheRoot, onProgress: (m) => o.reporter.step(m) });
    } catch (error) {
      if (error instanceof KilnError) {
        throw new KilnError(error.code, `${o.configName}: containers[${i}] (${c.name}).image: ${error.message}`, { hint: error.hint, cause: error });
      }
      throw error;
    }
    pinned.push({ name: c.name, image });
    if (pin === undefined) {
      const next: ImageLockEntry = {
        type: 'image',
        request: c.image,
        name: c.name,
        version: tagOf(c.image),
        sha256: image.manifestDigest.replace(/^sha256:/, ''),
      };
      lock.inputs[key] = next;
      changed = true;
    }
  }
  // Pins of containers no longer in the config (for this architecture) go.
  const names = new Set(containers.map((c) => c.name));
  for (const key of Object.keys(lock.inputs)) {
    const m = new RegExp(`^${o.arch}/container/(.+)$`).exec(key);
    if (m && !names.has(m[1]!)) {
      delete lock.inputs[key];
      changed = true;
    }
  }
  if (changed) await writeLock(lockFile, lock);
  return pinned;
}
