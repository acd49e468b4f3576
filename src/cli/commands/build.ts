import path from 'node:path';
import { Command, Option } from 'commander';
import { buildAll, type BuildResult } from '../../pipeline/build.js';
import { cacheRoot } from '../../inputs/cache.js';
import { resolveConfig, type ResolvedConfig } from '../../config/resolve.js';
import { createReporter } from '../../util/report.js';
import { KilnError } from '../../util/errors.js';
import { SIGN_PASSPHRASE_ENV } from '../../image/signing-key.js';
import type { SigningOptions } from '../../pipeline/steps/signing.js';
import { mb, table } from '../format.js';
import { print, type CliIo } from '../io.js';

export function profileOption(): Option {
  return new Option('--profile <profile>', 'release = smallest image (xz -9e); fast = quick development build (zstd -3)')
    .choices(['release', 'fast'])
    .default('release');
}

/** SOURCE_DATE_EPOCH (reproducible builds) or 0. */
export function sourceDateEpoch(env: NodeJS.ProcessEnv): number {
  const v = env.SOURCE_DATE_EPOCH;
  return v && /^\d+$/.test(v) ? Number(v) : 0;
}

/** `--sign-key FILE --sign-cert FILE` (kiln build, kiln disk): a key and its certificate, given together. */
export function signOptions(): Option[] {
  return [
    new Option('--sign-key <file>', "Secure Boot: sign every UKI with this key (instead of the config's signing.key); needs --sign-cert"),
    new Option('--sign-cert <file>', "the signing key's certificate, the one enrolled in the firmware's db (instead of signing.cert)"),
  ];
}

/** What the command line and the environment say about signing: the override (both options or neither) and the passphrase. */
export function signingOf(opts: { signKey?: string; signCert?: string }, io: CliIo): SigningOptions {
  const passphrase = io.env[SIGN_PASSPHRASE_ENV];
  const secret = passphrase === undefined || passphrase === '' ? {} : { passphrase };
  if (opts.signKey === undefined && opts.signCert === undefined) return secret;
  if (opts.signKey === undefined || opts.signCert === undefined) {
    const [given, missing] = opts.signKey === undefined ? ['--sign-cert', '--sign-key'] : ['--sign-key', '--sign-cert'];
    throw new KilnError('SIGN_BAD_OPTION', `${given} without ${missing}: give the key and its certificate together`);
  }
  return { override: { key: path.resolve(io.cwd, opts.signKey), cert: path.resolve(io.cwd, opts.signCert) }, ...secret };
}

/** Builds every architecture the config names (one result each, in the config's order). */
export async function runBuild(
  config: string | ResolvedConfig,
  opts: { out: string; profile: 'release' | 'fast'; json?: boolean; quiet?: boolean; signKey?: string; signCert?: string },
  io: CliIo,
): Promise<BuildResult[]> {
  const signing = signingOf(opts, io);
  const reporter = createReporter(io.stderr, { quiet: opts.quiet, env: io.env });
  return buildAll({
    resolved: typeof config === 'string' ? await resolveConfig(path.resolve(io.cwd, config)) : config,
    outDir: path.resolve(io.cwd, opts.out),
    profile: opts.profile,
    cacheRoot: cacheRoot(io.env),
    reporter,
    mtime: sourceDateEpoch(io.env),
    signing,
  });
}

export function printSummary(r: BuildResult, io: CliIo): void {
  const rows: string[][] = [['part', 'size']];
  for (const [part, bytes] of Object.entries(r.parts)) rows.push([part, mb(bytes)]);
  print(io.stdout, table(rows));
  print(io.stdout);
  const layerRows: string[][] = [['initramfs layer', 'cpio', 'compressed', '']];
  for (const l of r.layers) layerRows.push([l.name, mb(l.uncompressed), mb(l.compressed), l.cached ? '(cached)' : '']);
  print(io.stdout, table(layerRows));
  print(io.stdout);
  print(
    io.stdout,
    `${path.relative(process.cwd(), r.efi) || r.efi}: ${mb(r.size)} (${r.arch}, ${r.profile}, kernel ${r.kernel.release}, build ${r.buildId}${r.signedBy === undefined ? '' : `, signed for ${path.basename(r.signedBy)}`}) in ${(r.durationMs / 1000).toFixed(1)} s`,
  );
  if (r.stick !== undefined) {
    const dir = path.relative(process.cwd(), r.stick.dir) || '.';
    const own = r.stick.files.find((f) => f.startsWith('linux_'))?.split('/')[0] ?? 'linux_<arch>';
    print(
      io.stdout,
      `layout: source — ${dir}/${own}/ and ${dir}/src/ (${mb(r.stick.bytes)}) belong on the ESP labelled ${r.stick.label} beside the EFI: kiln disk writes them there; kiln run finds them beside the EFI`,
    );
  }
}

export function buildCommand(io: CliIo): Command {
  const cmd = new Command('build')
    .description('Build one UEFI executable (a Unified Kernel Image) from a device config')
    .argument('<config>', 'kiln.yml or kiln.config.ts')
    .option('-o, --out <dir>', 'output folder; the image is <dir>/BOOTX64.EFI (BOOTAA64.EFI on aarch64; both for arch: [x86_64, aarch64])', 'out')
    .addOption(profileOption())
    .option('--json', 'print the build result as JSON on stdout (progress stays on stderr); a list of them for several architectures')
    .option('-q, --quiet', 'no progress output');
  for (const option of signOptions()) cmd.addOption(option);
  return cmd
    .addHelpText(
      'after',
      `
Inputs (kernel, UKI stub, Node.js, koffi, libraries) are pinned in kiln.lock beside the config and cached in
$XDG_CACHE_HOME/kiln (default ~/.cache/kiln): with a warm cache a build needs no network. The big initramfs
layers are compressed once and reused, so a build after a config change takes seconds.

With layout: source (u-root's Sourcery layout) the EFI holds only the kernel, the modules that reach the boot disk
and a tiny first stage; Node and its libraries go to <dir>/linux_<arch>/ and the TypeScript (the init, the
programs) to <dir>/src/, shared by every architecture: <dir> is then the root of the ESP, ready for kiln disk or
for copying onto a FAT32 stick labelled as the config's ESP.

Secure Boot: with signing: {key, cert} in the config, or --sign-key/--sign-cert, every UKI is signed as the last
step (osslsigncode, SHA-256; the tree of layout: source is not an executable and is not signed). The signing time
is SOURCE_DATE_EPOCH (else 0), so the same build signs to the same bytes. An encrypted key's passphrase comes from
$KILN_SIGN_PASSPHRASE. kiln keys --secure-boot makes a key set; kiln run --secure-boot boots with OVMF's test keys.

Examples:
  kiln build examples/minimal.yml --out out                 # release image: out/BOOTX64.EFI
  kiln build examples/multiarch.yml --out out               # out/BOOTX64.EFI, out/BOOTAA64.EFI, out/linux_*/, out/src/
  kiln build examples/minimal.yml --out out --profile fast  # quick development image
  kiln build kiln.yml --sign-key sb/db.key --sign-cert sb/db.pem   # signed for Secure Boot
  kiln build kiln.yml --json | jq .size`,
    )
    .action(async (config: string, opts) => {
      const results = await runBuild(config, opts, io);
      if (opts.json) print(io.stdout, JSON.stringify(results.length === 1 ? results[0] : results, null, 2));
      else {
        results.forEach((r, i) => {
          if (i > 0) print(io.stdout);
          printSummary(r, io);
        });
      }
    });
}
