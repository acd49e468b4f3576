/**
 * The config's programs, ready for the root filesystem: each program's folder under /src/<name> (its files as they
 * are — TypeScript source, compiled on the device on first use — and its installed npm dependencies), a stub in
 * /usr/bin per command (device/contract/programs/stub.ts), kiln's own device tools the same way, and the `programs` section
 * of boot.json. Everything that can be wrong with a program is found here, at build time, as one line naming the
 * program and what to fix: a missing folder or entry file, a dependency that does not resolve, an import of a file
 * or package that is not there, native code.
 */
import { readFile, stat } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { CpioEntry } from '../formats/cpio/index.js';
import { LOCK_NAME, readLock, writeLock, emptyLock, type ProgramLockEntry } from '../inputs/lock.js';
import type { Cache } from '../inputs/cache.js';
import { readHostTree } from '../rootfs/host-files.js';
import { KilnError } from '../util/errors.js';
import type { Reporter } from '../util/report.js';
import { programStub } from '../../device/contract/programs/stub.ts';
import type { BootProgram } from '../../device/contract/programs/boot-programs.ts';
import { installDependencies, pinDependencies, type PackageJson } from './dependencies.js';
import { staticImports, unresolvedImport } from './imports.js';
import type { ProgramConfig } from './schema.js';

/** Where programs live on the device: one folder per program, the same on every architecture. */
export const PROGRAMS_ROOT = '/src';
/** Where their commands are: in every PATH, no symlinks. */
export const COMMANDS_DIR = '/usr/bin';
/** kiln's own device tools: TypeScript in the device tree, run through the same launcher as programs. */
export const DEVICE_TOOLS: readonly { name: string; entry: string }[] = [
  { name: 'kiln-status', entry: '/usr/lib/kiln/device/commands/kiln-status.ts' },
  { name: 'kiln-reload', entry: '/usr/lib/kiln/device/commands/kiln-reload.ts' },
];

const SOURCE_EXTENSIONS = /\.(m|c)?[jt]s$/;

export interface PreparedPrograms {
  /** Files under /src, the command stubs, kiln's tool stubs. */
  entries: CpioEntry[];
  boot: BootProgram[];
  /** Bytes per part, for the build summary. */
  parts: Record<string, number>;
  /** sha256 of every shipped program file: part of the build id, so an edited program makes a new image version. */
  fingerprint: string;
}

/** What a device path belongs to when it is a program's folder or a command's stub: for `files:` targets. */
export function programPathOwner(target: string, programs: readonly Pick<ProgramConfig, 'name'>[]): string | undefined {
  const clean = path.posix.normalize(target).replace(/\/$/, '');
  for (const p of programs) {
    if (clean === `${PROGRAMS_ROOT}/${p.name}` || clean.startsWith(`${PROGRAMS_ROOT}/${p.name}/`)) return `program ${p.name}'s folder`;
    if (clean === `${COMMANDS_DIR}/${p.name}`) return `program ${p.name}'s command`;
  }
  const tool = DEVICE_TOOLS.find((t) => clean === `${COMMANDS_DIR}/${t.name}`);
  return tool === undefined ? undefined : `kiln's ${tool.name} command`;
}

export interface PrepareOptions {
  programs: readonly ProgramConfig[];
  /** Folder the config's paths are relative to (and where kiln.lock is). */
  configDir: string;
  /** How messages name the config, e.g. "examples/programs.yml". */
  configName: string;
  cache: Cache;
  reporter: Reporter;
  /** Resolve dependencies again even when pinned (`kiln lock --update`). */
  update?: boolean;
}

function fail(where: string, message: string, hint?: string): never {
  throw new KilnError('PROGRAM_INVALID', `${where}: ${message}`, hint === undefined ? undefined : { hint });
}

async function readPackageJson(dir: string, where: string): Promise<PackageJson> {
  const file = path.join(dir, 'package.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    fail(where, `no package.json in ${dir}`, 'Add one: {"name": "...", "type": "module", "main": "main.ts"} (npm init -y).');
  }
  try {
    const pkg = JSON.parse(text) as PackageJson;
    if (typeof pkg !== 'object' || pkg === null || Array.isArray(pkg)) throw new TypeError('not an object');
    return pkg;
  } catch (error) {
    fail(where, `${file} is not valid JSON (${(error as Error).message})`);
  }
}

/** The entry file, relative to the program folder: the config's, else package.json "main", else index.ts. */
export function entryOf(program: Pick<ProgramConfig, 'entry'>, pkg: PackageJson): { entry: string; from: string } {
  if (program.entry !== undefined) return { entry: path.posix.normalize(program.entry), from: 'entry in the config' };
  if (typeof pkg.main === 'string' && pkg.main !== '') return { entry: path.posix.normalize(pkg.main.replace(/^\.\//, '')), from: 'package.json "main"' };
  return { entry: 'index.ts', from: 'the default, as package.json has no "main"' };
}

/** Test files (`*.test.ts`, `*.spec.js`, `test/`, `__tests__/`): shipped like any file, but never imported by the program. */
export function isTestFile(rel: string): boolean {
  return /\.(test|spec)\.[cm]?[jt]s$/.test(rel) || /(^|\/)(tests?|__tests__)\//.test(rel);
}

/** The program's own files: everything but node_modules and dot-folders (.git). */
function isProgramFile(rel: string): boolean {
  return !rel.split(path.sep).some((part) => part === 'node_modules' || (part.startsWith('.') && part !== '.'));
}

async function prepareOne(
  p: ProgramConfig,
  index: number,
  o: PrepareOptions,
  lock: { inputs: Record<string, unknown> },
): Promise<{ entries: CpioEntry[]; boot: BootProgram; sourceBytes: number; depBytes: number; pin?: ProgramLockEntry }> {
  const where = `${o.configName}: programs[${index}] (${p.name})`;
  const dir = path.resolve(o.configDir, p.source);
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) fail(where, `source folder ${p.source} ${st ? 'is not a folder' : 'does not exist'} (paths are relative to the config file)`);
  const pkg = await readPackageJson(dir, where);
  const { entry, from } = entryOf(p, pkg);
  if (entry.startsWith('..') || path.isAbsolute(entry)) fail(where, `entry "${entry}" (${from}) must be inside the source folder`);
  if (!SOURCE_EXTENSIONS.test(entry)) fail(where, `entry "${entry}" (${from}) is not a .ts or .js file`);
  if (!existsSync(path.join(dir, entry)) || !statSync(path.join(dir, entry)).isFile()) {
    fail(
      where,
      `no entry file: ${path.join(p.source, entry)} does not exist (${from})`,
      `Add the file, or set programs[${index}].entry (or "main" in package.json).`,
    );
  }
  if (entry.endsWith('.ts') && pkg.type !== 'module') {
    o.reporter.info(`${where}: package.json has no "type": "module"; Node will have to guess each file's module system (add it)`);
  }

  // Dependencies: pinned, installed once per tree, then checked against what the program imports.
  const wanted = Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies });
  let nodeModules: string | undefined;
  let pin: ProgramLockEntry | undefined;
  if (wanted.length > 0) {
    const key = `programs/${p.name}`;
    const pinned = lock.inputs[key] as ProgramLockEntry | undefined;
    pin = await pinDependencies({
      where,
      program: p.name,
      dir,
      pkg,
      pinned: pinned?.type === 'program' ? pinned : undefined,
      update: o.update,
      cache: o.cache,
    });
    nodeModules = await installDependencies(pin, pkg, o.cache, where, path.join(dir, 'package.json'));
  }
  const packages = new Set<string>(pkg.name === undefined ? [] : [pkg.name]);
  for (const name of wanted) {
    if (nodeModules !== undefined && existsSync(path.join(nodeModules, name, 'package.json'))) packages.add(name);
  }
  const missing = wanted.find((name) => !packages.has(name) && !(pkg.optionalDependencies ?? {})[name]);
  if (missing !== undefined) fail(where, `dependency "${missing}" was not installed by npm`, 'Check package.json and its lockfile.');

  const source = await readHostTree({ source: dir, target: `${PROGRAMS_ROOT}/${p.name}`, include: isProgramFile, where: `${where}.source` });
  for (const e of source) {
    if (e.type !== 'file' || !SOURCE_EXTENSIONS.test(e.path) || e.path.endsWith('.d.ts')) continue;
    const rel = e.path.slice(`${PROGRAMS_ROOT}/${p.name}/`.length);
    if (isTestFile(rel)) continue; // tests import devDependencies, which are not installed: not run on the device
    const problem = unresolvedImport(staticImports(Buffer.from(e.data).toString('utf8')), {
      file: path.join(p.source, rel),
      abs: path.join(dir, rel),
      isFile: (f) => existsSync(f) && statSync(f).isFile() && isProgramFile(path.relative(dir, f)),
      isDir: (f) => existsSync(f) && statSync(f).isDirectory(),
      packages,
    });
    if (problem !== undefined) fail(where, problem);
  }
  const deps =
    nodeModules === undefined
      ? []
      : await readHostTree({ source: nodeModules, target: `${PROGRAMS_ROOT}/${p.name}/node_modules`, where: `${where} dependencies` });
  const command = `${COMMANDS_DIR}/${p.name}`;
  const stub: CpioEntry = {
    type: 'file',
    path: command,
    mode: 0o755,
    data: Buffer.from(programStub({ program: p.name, entry: `${PROGRAMS_ROOT}/${p.name}/${entry}` })),
  };
  const boot: BootProgram = { name: p.name, command, args: p.args, env: p.env };
  if (p.service !== undefined) boot.service = { restart: p.service.restart, backoff: p.service.backoff };
  return { entries: [...source, ...deps, stub], boot, sourceBytes: bytes(source), depBytes: bytes(deps), pin };
}

export async function preparePrograms(o: PrepareOptions): Promise<PreparedPrograms> {
  const lockFile = path.join(o.configDir, LOCK_NAME);
  const lock = (await readLock(lockFile)) ?? emptyLock();
  const entries: CpioEntry[] = DEVICE_TOOLS.map((t) => ({
    type: 'file',
    path: `${COMMANDS_DIR}/${t.name}`,
    mode: 0o755,
    data: Buffer.from(programStub({ program: t.name, entry: t.entry })),
  }));
  const boot: BootProgram[] = [];
  let sourceBytes = 0;
  let depBytes = 0;
  let lockChanged = false;
  for (const [i, p] of o.programs.entries()) {
    o.reporter.step(`preparing program ${p.name}`);
    const prepared = await prepareOne(p, i, o, lock);
    entries.push(...prepared.entries);
    boot.push(prepared.boot);
    sourceBytes += prepared.sourceBytes;
    depBytes += prepared.depBytes;
    const key = `programs/${p.name}`;
    const before = lock.inputs[key];
    const pinChanged = before?.sha256 !== prepared.pin?.sha256 || before?.request !== prepared.pin?.request || before?.version !== prepared.pin?.version;
    if (prepared.pin !== undefined && pinChanged) {
      lock.inputs[key] = prepared.pin;
      lockChanged = true;
      const list = Object.entries(prepared.pin.packages)
        .map(([k, v]) => `${k.replace(/^.*node_modules\//, '')} ${v.version ?? '?'}`)
        .join(', ');
      o.reporter.info(`${LOCK_NAME}: pinned ${key} dependencies (${list})${before === undefined ? '' : ` — changed from ${before.sha256.slice(0, 12)}…`}`);
    }
  }
  // Pins of programs not in this config stay: configs in one folder share its kiln.lock.
  if (lockChanged) await writeLock(lockFile, lock);
  const parts: Record<string, number> = {};
  if (o.programs.length > 0) {
    parts[`programs (${o.programs.length}, source)`] = sourceBytes;
    if (depBytes > 0) parts["programs' npm dependencies"] = depBytes;
  }
  const hash = createHash('sha256');
  for (const e of entries) hash.update(`${e.path}\0${e.type === 'file' ? createHash('sha256').update(e.data).digest('hex') : e.type}\0`);
  return { entries, boot, parts, fingerprint: hash.digest('hex') };
}

function bytes(entries: readonly CpioEntry[]): number {
  return entries.reduce((n, e) => n + (e.type === 'file' ? e.data.length : 0), 0);
}
