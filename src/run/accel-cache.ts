/**
 * The remembered KVM verdict: `$XDG_CACHE_HOME/kiln/accel.json` (default `~/.cache/kiln/accel.json`).
 * Whether KVM works depends on the QEMU build and on the host kernel (and its hypervisor), so the verdict is keyed by
 * guest architecture, QEMU's version line and the kernel release: upgrading either probes again. Caching is best
 * effort — an unreadable or unwritable file only costs another probe.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Arch } from './arch.js';
import type { AccelChoice } from './qemu-args.js';

export interface AccelVerdict extends AccelChoice {
  /** Why: "KVM started the firmware" or QEMU's complaint ("failed to set MSR 0x10a to 0x69"). */
  reason: string;
}

interface CacheEntry extends AccelVerdict {
  probedAt: string;
}

interface CacheFile {
  version: 1;
  entries: Record<string, CacheEntry>;
}

export interface AccelKeyParts {
  arch: Arch;
  /** QEMU's `--version` first line. */
  qemuVersion: string;
  /** `uname -r` of the host. */
  kernelRelease: string;
}

export function accelCacheKey(parts: AccelKeyParts): string {
  return `${parts.arch} | ${parts.qemuVersion} | linux ${parts.kernelRelease}`;
}

export function accelCacheFile(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), '.cache');
  return path.join(base, 'kiln', 'accel.json');
}

async function load(file: string): Promise<CacheFile> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<CacheFile>;
    if (parsed.version === 1 && parsed.entries && typeof parsed.entries === 'object') return parsed as CacheFile;
  } catch {
    // missing or damaged: start afresh
  }
  return { version: 1, entries: {} };
}

function isVerdict(entry: unknown): entry is CacheEntry {
  const e = entry as Partial<CacheEntry> | undefined;
  return (e?.accel === 'kvm' || e?.accel === 'tcg') && typeof e.cpu === 'string' && typeof e.reason === 'string';
}

export async function readAccelVerdict(file: string, key: string): Promise<AccelVerdict | undefined> {
  const entry = (await load(file)).entries[key];
  return isVerdict(entry) ? { accel: entry.accel, cpu: entry.cpu, reason: entry.reason } : undefined;
}

/** Adds or replaces one entry; other keys (another QEMU, another arch) are kept. Written to a temp name, renamed. */
export async function writeAccelVerdict(file: string, key: string, verdict: AccelVerdict, now: Date = new Date()): Promise<void> {
  try {
    const cache = await load(file);
    cache.entries[key] = { ...verdict, probedAt: now.toISOString() };
    await mkdir(path.dirname(file), { recursive: true });
    const temp = `${file}.${process.pid}.tmp`;
    await writeFile(temp, JSON.stringify(cache, null, 2) + '\n');
    await rename(temp, file);
  } catch {
    // best effort: the next run probes again
  }
}
