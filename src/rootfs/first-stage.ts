/**
 * Compiles device/first-stage/first-stage.c for an architecture with the host's C compiler: `cc` for the host's own
 * architecture, the Debian cross compiler (`aarch64-linux-gnu-gcc`, `x86_64-linux-gnu-gcc`) for the other;
 * `KILN_CC_<ARCH>` (e.g. KILN_CC_AARCH64) overrides. The program is freestanding (no libc, no headers), so a bare
 * compiler is all it takes. The result is cached by the source, the flags and the compiler's own version line, and
 * checked to be a static executable of the right machine before it is used.
 */
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Arch } from '../config/schema.js';
import { decodeElf } from '../formats/elf/index.js';
import type { Cache } from '../inputs/cache.js';
import { sha256, tempBeside } from '../inputs/cache.js';
import { KilnError } from '../util/errors.js';
import { exec } from '../util/exec.js';
import { PACKAGE_ROOT } from '../version.js';
import { ARCH_TABLE } from '../config/arch.js';

export const FIRST_STAGE_SOURCE = fileURLToPath(new URL('device/first-stage/first-stage.c', PACKAGE_ROOT));

/** Freestanding, static, position-dependent, no build ID or compiler ident: the same compiler gives the same bytes. */
export const FIRST_STAGE_FLAGS = [
  '-std=c11',
  '-Os',
  '-static',
  '-nostdlib',
  '-ffreestanding',
  '-fno-builtin',
  '-fno-stack-protector',
  '-fno-asynchronous-unwind-tables',
  '-fno-unwind-tables',
  '-fno-pie',
  '-no-pie',
  '-fno-ident',
  '-Wl,--build-id=none',
  '-Wl,-z,noexecstack',
  '-Wl,-z,norelro',
  '-s',
  '-Wall',
  '-Wextra',
  '-Werror',
];

/** The compiler for `arch` on this host. */
export function firstStageCompiler(arch: Arch, env: NodeJS.ProcessEnv = process.env, hostArch: string = os.arch()): string {
  const override = env[`KILN_CC_${arch.toUpperCase()}`];
  if (override) return override;
  const native = (arch === 'x86_64' && hostArch === 'x64') || (arch === 'aarch64' && hostArch === 'arm64');
  return native ? 'cc' : ARCH_TABLE[arch].crossCompiler.command;
}

export async function compileFirstStage(arch: Arch, cache: Cache): Promise<Uint8Array> {
  const compiler = firstStageCompiler(arch);
  const version = await exec(compiler, ['--version']).catch(() => undefined);
  if (version === undefined || version.code !== 0) {
    throw new KilnError('FIRST_STAGE_COMPILER', `layout: source needs a C compiler for ${arch} to build the first stage, and "${compiler}" is not there`, {
      hint: `Install it (apt-get install -y ${compiler === 'cc' ? 'gcc' : ARCH_TABLE[arch].crossCompiler.package}; \`kiln setup\` does) or name one in KILN_CC_${arch.toUpperCase()}.`,
    });
  }
  const source = await readFile(FIRST_STAGE_SOURCE);
  const key = sha256(JSON.stringify({ source: sha256(source), flags: FIRST_STAGE_FLAGS, compiler: version.stdout.split('\n')[0], arch }));
  const cached = path.join(cache.root, 'first-stage', key);
  const hit = await readFile(cached).catch(() => undefined);
  if (hit !== undefined) return new Uint8Array(hit);
  const bytes = await compile(compiler, arch);
  await mkdir(path.dirname(cached), { recursive: true });
  const temp = tempBeside(cached);
  await writeFile(temp, bytes);
  await rename(temp, cached);
  return bytes;
}

async function compile(compiler: string, arch: Arch): Promise<Uint8Array> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-first-stage-'));
  try {
    const out = path.join(dir, 'init');
    const r = await exec(compiler, [...FIRST_STAGE_FLAGS, '-o', out, FIRST_STAGE_SOURCE]);
    if (r.code !== 0) throw new KilnError('FIRST_STAGE_COMPILER', `${compiler} could not compile ${FIRST_STAGE_SOURCE}: ${r.stderr.trim().split('\n')[0]}`);
    const bytes = new Uint8Array(await readFile(out));
    const elf = decodeElf(bytes);
    if (elf.machine !== ARCH_TABLE[arch].elfMachine || elf.interp !== undefined) {
      throw new KilnError(
        'FIRST_STAGE_COMPILER',
        `${compiler} made a ${elf.interp === undefined ? '' : 'dynamic '}ELF for machine ${elf.machine}, not a static ${arch} one`,
        {
          hint: `Name the right compiler in KILN_CC_${arch.toUpperCase()}.`,
        },
      );
    }
    return bytes;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
