/**
 * A program's npm dependencies: pinned in kiln.lock, installed at build time, cached by the hash of the tree.
 *
 * The pin is the dependency tree as npm's lockfile writes it (its "packages" map: install path → version, resolved
 * tarball, integrity), without the program's own root and without dev-only packages:
 * - a program with its own package-lock.json (or npm-shrinkwrap.json) is pinned by that file;
 * - a program without one is resolved once (`npm install --package-lock-only` in a staging folder holding only its
 *   package.json) and the tree is kept in kiln.lock, so later builds, on any machine, install the same versions;
 *   editing package.json's dependencies resolves again.
 * kiln.lock records the tree's sha256, so any change (an edited lockfile, a new dependency) shows up in the build's
 * output and in the lock's diff.
 *
 * Installing is always `npm ci --omit=dev --ignore-scripts` against a lockfile written from the pin, in a staging
 * folder, never in the program's folder: `ci` installs exactly the pinned tree and checks every tarball's integrity;
 * no install script runs on the build machine. The resulting node_modules is cached under the tree's hash
 * (`programs/<sha256>/node_modules`), so a warm build runs no npm at all. Your npm configuration decides the
 * registry; no address is written here.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Cache } from '../inputs/cache.js';
import type { ProgramLockEntry } from '../inputs/lock.js';
import { KilnError } from '../util/errors.js';
import { exec } from '../util/exec.js';

export interface PackageJson {
  name?: string;
  version?: string;
  main?: string;
  type?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

export type LockedPackages = ProgramLockEntry['packages'];

/** What the program asks for: its dependencies and optional dependencies, keys sorted. */
export function dependencyRequest(pkg: PackageJson): Record<string, string> {
  const all = { ...pkg.dependencies, ...pkg.optionalDependencies };
  return Object.fromEntries(
    Object.keys(all)
      .sort()
      .map((k) => [k, all[k]!]),
  );
}

/** JSON with object keys sorted at every level: equal trees give equal text, whatever order npm wrote them in. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    return `{${Object.keys(record)
      .sort()
      .filter((k) => record[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

export function treeHash(packages: LockedPackages): string {
  return createHash('sha256').update(canonicalJson(packages)).digest('hex');
}

/** The runtime part of a lockfile's "packages": no root entry, no dev-only packages. */
export function runtimePackages(lock: unknown, where: string): LockedPackages {
  const packages = (lock as { packages?: unknown; lockfileVersion?: unknown }).packages;
  if (typeof packages !== 'object' || packages === null) {
    throw new KilnError(
      'PROGRAM_INVALID',
      `${where}: the lockfile has no "packages" (lockfileVersion ${String((lock as { lockfileVersion?: unknown }).lockfileVersion)})`,
      {
        hint: 'Write it again with npm 7 or newer: `npm install --package-lock-only` in the program folder.',
      },
    );
  }
  const out: LockedPackages = {};
  for (const [key, value] of Object.entries(packages as Record<string, Record<string, unknown>>)) {
    if (key === '' || value.dev === true) continue;
    if (value.link === true || !key.includes('node_modules/')) {
      throw new KilnError('PROGRAM_INVALID', `${where}: dependency "${key}" is a link to a local folder; kiln installs dependencies from the registry only`, {
        hint: 'Depend on a published version, or copy that code into the program folder.',
      });
    }
    out[key] = value as LockedPackages[string];
  }
  return out;
}

/** The program's own lockfile, parsed, when it has one. */
async function ownLockfile(dir: string): Promise<{ file: string; data: unknown } | undefined> {
  for (const name of ['npm-shrinkwrap.json', 'package-lock.json']) {
    const file = path.join(dir, name);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      continue;
    }
    try {
      return { file, data: JSON.parse(text) };
    } catch (error) {
      throw new KilnError('PROGRAM_INVALID', `${file}: not valid JSON (${(error as Error).message})`);
    }
  }
  return undefined;
}

/** The package.json and lockfile npm sees in the staging folder: the dependencies only, no scripts, no devDependencies. */
function stagingPackage(pkg: PackageJson): PackageJson & { private: true } {
  return { name: 'kiln-program', version: '0.0.0', private: true, dependencies: pkg.dependencies, optionalDependencies: pkg.optionalDependencies };
}

/** npm's complaint about a dependency, as one line: which spec did not resolve and why. */
export function npmFailure(stderr: string, where: string, packageJsonFile: string): KilnError {
  const code = /npm (?:error|ERR!) code (\S+)/.exec(stderr)?.[1] ?? '';
  // npm 10 says "'x@^1' is not in this registry", npm 11 "The requested resource 'x@^1' could not be found".
  const notFound =
    /'([^']+)' (?:is not in this registry|could not be found)/.exec(stderr)?.[1] ?? /404 Not Found - GET \S*\/([^\s/]+)(?:\s|$)/.exec(stderr)?.[1];
  const noVersion = /No matching version found for (\S+?)\.?(?:\s|$)/.exec(stderr)?.[1];
  if (code === 'E404' || code === 'ETARGET' || notFound || noVersion) {
    const spec = noVersion ?? (notFound === undefined ? undefined : decodeURIComponent(notFound));
    const why = noVersion ? 'no such version' : 'no such package';
    return new KilnError(
      'PROGRAM_DEPENDENCY',
      `${where}: dependency ${spec === undefined ? '' : `"${spec}" `}does not resolve (${why}); fix "dependencies" in ${packageJsonFile}`,
      {
        hint: 'Check the name and version range (`npm view <name> versions` lists what exists).',
      },
    );
  }
  const last =
    stderr
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .pop() ?? '';
  return new KilnError('NETWORK', `${where}: npm could not install the dependencies (${code || last || 'unknown error'})`, {
    hint: 'Check the network and your npm registry setting; with a warm cache and kiln.lock, builds need no network.',
  });
}

async function runNpm(args: string[], cwd: string, where: string, packageJsonFile: string): Promise<void> {
  const r = await exec('npm', [...args, '--ignore-scripts', '--omit=dev', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd,
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
  if (r.code !== 0) throw npmFailure(r.stderr, where, packageJsonFile);
}

export interface PinOptions {
  /** "examples/programs.yml: programs[0] (greet)": how errors name the program. */
  where: string;
  program: string;
  dir: string;
  pkg: PackageJson;
  pinned?: ProgramLockEntry;
  /** Resolve again even when the pin still matches (`kiln lock --update`). */
  update?: boolean;
  cache: Cache;
}

/** The program's pinned dependency tree (from its lockfile, from kiln.lock, or resolved now). */
export async function pinDependencies(o: PinOptions): Promise<ProgramLockEntry> {
  const request = canonicalJson(dependencyRequest(o.pkg));
  const base = { type: 'program' as const, request, name: o.program, version: o.pkg.version ?? '0.0.0' };
  const own = await ownLockfile(o.dir);
  if (own) {
    const packages = runtimePackages(own.data, `${o.where}: ${own.file}`);
    return { ...base, sha256: treeHash(packages), packages };
  }
  if (o.pinned && o.pinned.request === request && !o.update) return { ...base, sha256: o.pinned.sha256, packages: o.pinned.packages };
  const staging = await o.cache.scratch('program-resolve');
  try {
    await writeFile(path.join(staging, 'package.json'), JSON.stringify(stagingPackage(o.pkg), null, 2));
    await runNpm(['install', '--package-lock-only'], staging, o.where, path.join(o.dir, 'package.json'));
    const packages = runtimePackages(JSON.parse(await readFile(path.join(staging, 'package-lock.json'), 'utf8')), o.where);
    return { ...base, sha256: treeHash(packages), packages };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Files that mean native code: kiln ships programs as architecture-independent source. */
function isNative(rel: string): boolean {
  return rel.endsWith('.node') || path.basename(rel) === 'binding.gyp';
}

/**
 * The installed node_modules of a pinned tree, from the cache or installed now (`npm ci` in a staging folder,
 * then renamed into the cache whole). Returns the node_modules folder.
 */
export async function installDependencies(entry: ProgramLockEntry, pkg: PackageJson, cache: Cache, where: string, packageJsonFile: string): Promise<string> {
  const dest = path.join(cache.root, 'programs', entry.sha256);
  const modules = path.join(dest, 'node_modules');
  if (await exists(modules)) return modules;
  const staging = await cache.scratch('program-install');
  try {
    const manifest = stagingPackage(pkg);
    const lock = {
      name: manifest.name,
      version: manifest.version,
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { name: manifest.name, version: manifest.version, dependencies: manifest.dependencies, optionalDependencies: manifest.optionalDependencies },
        ...entry.packages,
      },
    };
    await writeFile(path.join(staging, 'package.json'), JSON.stringify(manifest, null, 2));
    await writeFile(path.join(staging, 'package-lock.json'), JSON.stringify(lock, null, 2));
    await runNpm(['ci'], staging, where, packageJsonFile);
    const installed = path.join(staging, 'node_modules');
    const native = (await readdir(installed, { recursive: true })).map(String).find(isNative);
    if (native !== undefined) {
      throw new KilnError(
        'PROGRAM_DEPENDENCY',
        `${where}: dependency file node_modules/${native} is native code; programs ship as architecture-independent source`,
        {
          hint: 'Use a pure-JavaScript package instead (or WebAssembly).',
        },
      );
    }
    await mkdir(path.dirname(dest), { recursive: true });
    const temp = path.join(staging, 'tree');
    await mkdir(temp);
    await rename(installed, path.join(temp, 'node_modules'));
    try {
      await rename(temp, dest);
    } catch (error) {
      // Another build installed the same tree first: same hash, same content.
      if (!(await exists(modules))) throw error;
    }
    return modules;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}
