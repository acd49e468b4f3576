/**
 * Resolving inputs: every input the image needs, pinned in kiln.lock and present in the cache, verified by
 * sha256. Pinned inputs are taken from the cache when their hash matches (no network at all); otherwise
 * fetched at the pinned version and checked against the pin. Unpinned inputs are resolved to the current
 * version and written to the lock.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Arch, Config } from '../config/schema.js';
import { KilnError } from '../util/errors.js';
import type { Reporter } from '../util/report.js';
import { AptSource, debControl } from './apt.js';
import { Cache } from './cache.js';
import { inputRequests, type BaseRole, type InputRequest } from './catalog.js';
import type { ToolRole } from './tools.js';
import { emptyLock, readLock, writeLock, type LockEntry, type LockFile } from './lock.js';
import { npmPack } from './npm.js';
import { ARCH_TABLE } from '../config/arch.js';

export interface ResolvedInput {
  entry: LockEntry;
  /** The verified file in the cache. */
  file: string;
}

/** Every base input; a tool's inputs only when the config needs the tool. */
export type ResolvedInputs = Record<BaseRole, ResolvedInput> & Partial<Record<ToolRole, ResolvedInput>>;

export interface ResolveOptions {
  cache: Cache;
  lockFile: string;
  /** Re-resolve every input to its newest version (`kiln lock --update`). */
  update?: boolean;
  reporter: Reporter;
}

export async function resolveInputs(config: Config, arch: Arch, options: ResolveOptions): Promise<ResolvedInputs> {
  const { cache, reporter } = options;
  const lock: LockFile = (await readLock(options.lockFile)) ?? emptyLock();
  const apt = new AptSource(cache.root, ARCH_TABLE[arch].deb);
  const resolved: Partial<ResolvedInputs> = {};
  const changed: string[] = [];

  const requests = inputRequests(config, arch);
  // Only shown on a terminal: a count of inputs checked or fetched (apt and npm print no byte counts we can use).
  const bar = reporter.progress(`inputs for ${arch}`, requests.length, 'items');
  let done = 0;
  try {
    for (const req of requests) {
      const key = `${arch}/${req.role}`;
      const request = req.role === 'koffi-native' ? `${req.request}@${resolved.koffi!.entry.version}` : req.request;
      const pinned = lock.inputs[key];
      if (pinned && pinned.request === request && !options.update) {
        resolved[req.role] = { entry: pinned, file: await fetchPinned(key, pinned, apt, cache, reporter) };
      } else {
        reporter.step(`resolving ${key}: ${request}`);
        const got = await fetchNew(req, request, apt, cache);
        lock.inputs[key] = got.entry;
        resolved[req.role] = got;
        if (pinned?.sha256 !== got.entry.sha256) changed.push(`${key} ${got.entry.name} ${got.entry.version}`);
      }
      bar.update(++done);
    }
  } finally {
    bar.stop();
  }
  if (changed.length > 0) {
    await writeLock(options.lockFile, lock);
    for (const c of changed) reporter.info(`${path.basename(options.lockFile)}: pinned ${c}`);
  }
  return resolved as ResolvedInputs;
}

async function fetchPinned(key: string, e: LockEntry, apt: AptSource, cache: Cache, reporter: Reporter): Promise<string> {
  const cached = await cache.verifiedBlob(e.sha256);
  if (cached) return cached;
  reporter.step(`fetching ${key}: ${e.name} ${e.version}`);
  const dir = await cache.scratch('fetch');
  try {
    const file = e.type === 'deb' ? await apt.download(e.name, e.version, dir) : (await npmPack(`${e.name}@${e.version}`, dir)).file;
    const blob = await cache.addBlob(file);
    if (blob.sha256 !== e.sha256) {
      throw new KilnError(
        'HASH_MISMATCH',
        `input ${key} (${e.name} ${e.version}): sha256 mismatch: kiln.lock pins ${e.sha256}, the download is ${blob.sha256}`,
        {
          hint: 'The archive changed what it serves under this version. Investigate before trusting it; `kiln lock --update` pins what is served now.',
        },
      );
    }
    return blob.path;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function fetchNew(req: InputRequest, request: string, apt: AptSource, cache: Cache): Promise<ResolvedInput> {
  const dir = await cache.scratch('resolve');
  try {
    if (req.type === 'npm') {
      const packed = await npmPack(request, dir);
      const blob = await cache.addBlob(packed.file);
      return { entry: { type: 'npm', request, name: packed.name, version: packed.version, sha256: blob.sha256 }, file: blob.path };
    }
    let deb = await apt.download(request, undefined, dir);
    let control = await debControl(deb);
    if (req.role === 'kernel') {
      // A metapackage (linux-image-rt-amd64) only depends on the versioned image package: follow it.
      const target = kernelImageDependency(control);
      if (target) {
        await rm(deb);
        deb = await apt.download(target.name, target.version, dir);
        control = await debControl(deb);
      }
    }
    const blob = await cache.addBlob(deb);
    return {
      entry: { type: 'deb', request, name: control.Package!, version: control.Version!, arch: control.Architecture!, sha256: blob.sha256 },
      file: blob.path,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `linux-image-6.1.0-56-rt-amd64 (= 6.1.192-2)` from a kernel metapackage's Depends, if it is one. */
export function kernelImageDependency(control: Record<string, string>): { name: string; version?: string } | undefined {
  if (/^linux-image-\d/.test(control.Package ?? '')) return undefined;
  for (const alt of (control.Depends ?? '').split(/[,|]/)) {
    const m = /^\s*(linux-image-\d[^\s(]*)\s*(?:\(\s*=\s*([^)\s]+)\s*\))?/.exec(alt);
    if (m) return { name: m[1]!, version: m[2] };
  }
  return undefined;
}
