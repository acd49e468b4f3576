import { access } from 'node:fs/promises';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { EXIT_CODE_HELP } from '../../run/exit-codes.js';
import type { AccelMode } from '../../run/options.js';
import { KilnError } from '../../util/errors.js';
import { print, type CliIo } from '../io.js';
import { printSummary, profileOption, runBuild } from './build.js';

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number above 0');
  return n;
}

function regex(value: string): RegExp {
  try {
    return new RegExp(value);
  } catch (err) {
    throw new InvalidArgumentError(`not a regular expression: ${(err as Error).message}`);
  }
}

export function runCommand(io: CliIo, setExitCode: (code: number) => void): Command {
  return new Command('run')
    .description('Boot an image (or a config, building it first) in QEMU with UEFI firmware; the serial console is this terminal')
    .argument('<image>', 'a BOOTX64.EFI / BOOTAA64.EFI, or a kiln.yml / kiln.config.ts to build first')
    .option('-m, --memory <size>', 'guest memory, as QEMU writes it', '1G')
    .option('--cpus <n>', 'virtual CPUs', (v) => Math.trunc(positiveNumber(v)), 2)
    .option('--timeout <seconds>', 'stop the guest after this long (exit 124)', positiveNumber)
    .option('--expect <regex>', 'exit 0 as soon as the console matches (for scripts and tests)', regex)
    .option('--accel <mode>', 'auto = KVM when it really works here, else TCG software emulation; kvm; tcg', 'auto')
    .option('-o, --out <dir>', 'when given a config: where to build', 'out')
    .addOption(profileOption().default('fast'))
    .addHelpText(
      'after',
      `
The image is put on a fresh GPT disk with an EFI System Partition (EFI/BOOT/BOOTX64.EFI) and booted by OVMF
(Debian package ovmf) with a fresh copy of its variables each run. On a terminal, keys go to the guest:
ctrl-a x quits. SIGINT/SIGTERM to kiln presses the guest's ACPI power button and waits for a clean power-off.

${EXIT_CODE_HELP}

Examples:
  kiln run out/BOOTX64.EFI
  kiln run examples/minimal.yml                    # builds (fast profile) into out/, then boots
  kiln run out/BOOTX64.EFI --expect 'kiln: ready in' --timeout 120`,
    )
    .action(async (image: string, opts: { memory: string; cpus: number; timeout?: number; expect?: RegExp; accel: string; out: string; profile: 'release' | 'fast' }) => {
      let efi = path.resolve(io.cwd, image);
      let arch: 'x86_64' | 'aarch64' = /AA64\.EFI$/i.test(efi) ? 'aarch64' : 'x86_64';
      if (/\.(ya?ml|[cm]?[jt]s)$/.test(image)) {
        const result = await runBuild(image, { out: opts.out, profile: opts.profile }, io);
        printSummary(result, { ...io, stdout: io.stderr });
        efi = result.efi;
        arch = result.arch;
      } else {
        await access(efi).catch(() => {
          throw new KilnError('RUN_NO_IMAGE', `${image}: no such file`, { hint: 'Build one first: kiln build examples/minimal.yml --out out' });
        });
      }
      if (!['auto', 'kvm', 'tcg'].includes(opts.accel)) throw new KilnError('RUN_BAD_OPTION', `--accel: "${opts.accel}" is not one of auto, kvm, tcg`);
      const interactive = io.stdin?.isTTY === true && !opts.expect;
      const abort = new AbortController();
      const stop = () => abort.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      process.once('SIGHUP', stop);
      try {
        // Loaded on demand: building needs none of the QEMU machinery.
        const { runImage } = await import('../../run/run.js');
        const result = await runImage(
          {
            efi,
            arch,
            memory: opts.memory,
            cpus: opts.cpus,
            timeout: opts.timeout,
            expect: opts.expect,
            accel: opts.accel as AccelMode,
            stdin: interactive ? io.stdin! : null,
            stdout: io.stdout,
            stderr: io.stderr,
            interactive,
          },
          abort.signal,
        );
        if (result.exitCode !== 0) print(io.stderr, `kiln: run ended: ${result.outcome} (exit ${result.exitCode})`);
        setExitCode(result.exitCode);
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        process.off('SIGHUP', stop);
      }
    });
}
