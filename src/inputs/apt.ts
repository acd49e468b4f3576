/**
 * Debian packages through `apt-get download`, for any architecture, without changing anything host-wide:
 * apt runs with a private state folder per architecture (its own package lists, cache and an empty dpkg
 * status) and the host's sources. No mirror address appears here: the host's sources.list decides.
 */
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { KilnError } from '../util/errors.js';
import { exec, execOk, lastLine } from '../util/exec.js';

/** How long private package lists are trusted when resolving new (unpinned) packages. */
const LISTS_MAX_AGE_MS = 12 * 3600_000;

export class AptSource {
  readonly debArch: string;
  private readonly stateDir: string;
  private updated = false;

  constructor(cacheRoot: string, debArch: string) {
    this.debArch = debArch;
    this.stateDir = path.join(cacheRoot, 'apt', debArch);
  }

  private options(): string[] {
    const opts = [
      `APT::Architecture=${this.debArch}`,
      `APT::Architectures=${this.debArch}`,
      `Dir::State=${this.stateDir}`,
      `Dir::State::Lists=${path.join(this.stateDir, 'lists')}`,
      `Dir::State::status=${path.join(this.stateDir, 'status')}`,
      `Dir::Cache=${path.join(this.stateDir, 'cache')}`,
      'Debug::NoLocking=1',
      'Acquire::Languages=none',
    ];
    // As root, apt drops to the _apt user, which cannot write into a private cache folder.
    if (process.getuid?.() === 0) opts.push('APT::Sandbox::User=root');
    return opts.flatMap((o) => ['-o', o]);
  }

  private async prepare(): Promise<void> {
    await mkdir(path.join(this.stateDir, 'lists', 'partial'), { recursive: true });
    await mkdir(path.join(this.stateDir, 'cache', 'archives', 'partial'), { recursive: true });
    const status = path.join(this.stateDir, 'status');
    await stat(status).catch(() => writeFile(status, ''));
  }

  private async listsAge(): Promise<number> {
    try {
      const dir = path.join(this.stateDir, 'lists');
      const files = (await readdir(dir)).filter((f) => f.endsWith('Packages') || f.endsWith('Packages.lz4') || f.includes('_Packages'));
      if (files.length === 0) return Infinity;
      const s = await stat(path.join(dir, files[0]!));
      return Date.now() - s.mtimeMs;
    } catch {
      return Infinity;
    }
  }

  /** `apt-get update` into the private lists (once per kiln run). */
  async update(): Promise<void> {
    if (this.updated) return;
    await this.prepare();
    const r = await exec('apt-get', [...this.options(), '-q', 'update']);
    if (r.code !== 0 || /^(W|E): (Failed to fetch|Some index files failed)/m.test(r.stderr)) {
      throw new KilnError('NETWORK', `cannot update the Debian package lists for ${this.debArch}: ${lastLine(r.stderr) || `apt-get exit code ${r.code}`}`, {
        hint: 'Check the network and /etc/apt/sources.list; with a warm cache and kiln.lock, builds need no network.',
      });
    }
    this.updated = true;
  }

  /**
   * Downloads `name` (at `version` when pinned, else the candidate) into `destDir`; returns the .deb path.
   * Updates the private lists first when they are missing or stale, or when the package is not found.
   */
  async download(name: string, version: string | undefined, destDir: string): Promise<string> {
    await this.prepare();
    if (!version && (await this.listsAge()) > LISTS_MAX_AGE_MS) await this.update();
    const spec = version ? `${name}=${version}` : name;
    let r = await exec('apt-get', [...this.options(), '-q', 'download', spec], { cwd: destDir });
    if (r.code !== 0 && !this.updated) {
      await this.update();
      r = await exec('apt-get', [...this.options(), '-q', 'download', spec], { cwd: destDir });
    }
    if (r.code !== 0) {
      const why = lastLine(r.stderr);
      const unknown = /Unable to locate|Can't find a source|Version .* was not found|has no installation candidate/.test(r.stderr);
      throw new KilnError(unknown ? 'INPUT_UNKNOWN' : 'NETWORK', `Debian package ${spec} (${this.debArch}): ${why || 'apt-get download failed'}`, {
        hint: unknown
          ? 'Check the package name in the config (`apt-cache search` lists packages), or run `kiln lock --update` if the pinned version left the archive.'
          : 'Check the network; with a warm cache and kiln.lock, builds need no network.',
      });
    }
    const debs = (await readdir(destDir)).filter((f) => f.startsWith(`${name}_`) && f.endsWith('.deb'));
    if (debs.length !== 1) throw new KilnError('INPUT_UNKNOWN', `Debian package ${spec}: apt-get download produced no ${name}_*.deb`);
    return path.join(destDir, debs[0]!);
  }
}

/** Control fields of a .deb (Package, Version, Architecture, Depends, ...). */
export async function debControl(deb: string): Promise<Record<string, string>> {
  const r = await execOk('dpkg-deb', ['--field', deb], `reading ${path.basename(deb)}`);
  const fields: Record<string, string> = {};
  let last = '';
  for (const line of r.stdout.split('\n')) {
    const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
    if (m) fields[(last = m[1]!)] = m[2]!;
    else if (line.startsWith(' ') && last) fields[last] += `\n${line.trim()}`;
  }
  return fields;
}
