import { access } from 'node:fs/promises';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { EXIT_CODE_HELP } from '../../run/exit-codes.js';
import type { AccelMode } from '../../run/options.js';
import { parseForward, type PortForward } from '../../run/forward.js';
import { KilnError } from '../../util/errors.js';
import { ARCHES, type Arch } from '../../config/schema.js';
import { diskBootArches } from '../../run/disk-arch.js';
import { print, type CliIo } from '../io.js';
import { DISK_IMAGE, diskFromConfig, diskFromImage, type RunDisk } from '../../run/boot-disk.js';
import { printSummary, profileOption, runBuild, sourceDateEpoch } from './build.js';
import { resolveConfig } from '../../config/resolve.js';
import { varsBeside } from '../../run/firmware.js';
import { efiPathOnEsp } from '../../disk/esp-files.js';
import { parseSecureBoot, SECURE_BOOT_KEYS, secureBootUnsupported } from '../../run/secure-boot.js';

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

function collectForward(value: string, previous: PortForward[] | undefined): PortForward[] {
  try {
    return [...(previous ?? []), parseForward(value)];
  } catch (err) {
    const e = err as KilnError;
    throw new InvalidArgumentError(e.hint === undefined ? e.message : `${e.message}. ${e.hint}`);
  }
}

export function runCommand(io: CliIo, setExitCode: (code: number) => void): Command {
  return new Command('run')
    .description('Boot an image (or a config, building it first) in QEMU with UEFI firmware; the serial console is this terminal')
    .argument('<image>', 'a BOOTX64.EFI / BOOTAA64.EFI, a disk image (.img/.raw, from kiln disk), or a kiln.yml / kiln.config.ts to build first')
    .option('-m, --memory <size>', 'guest memory, as QEMU writes it', '1G')
    .option('--cpus <n>', 'virtual CPUs', (v) => Math.trunc(positiveNumber(v)), 2)
    .option('--timeout <seconds>', 'stop the guest after this long (exit 124)', positiveNumber)
    .option('--expect <regex>', 'exit 0 as soon as the console matches (for scripts and tests)', regex)
    .option('--accel <mode>', 'auto = KVM when it really works here, else TCG software emulation; kvm; tcg', 'auto')
    .option(
      '--tcg-threads <mode>',
      'under TCG: single = one host thread for all vCPUs (the default: V8 crashes now and then under multi), multi = one per vCPU (faster)',
    )
    .option(
      '--arch <arch>',
      'x86_64 or aarch64: which guest boots a disk image (default: what its ESP boots, x86_64 first), or which build of a multi-architecture config (default: its first)',
    )
    .option(
      '--forward <[hostaddr:]hostport:guestport>',
      'forward a host TCP port to the guest (repeatable); listens on 127.0.0.1 unless hostaddr is given',
      collectForward,
    )
    .option('--no-network', 'no network card (default: virtio-net on QEMU user networking)')
    .option(
      '--keep-disk <path>',
      'boot the disk at PATH in place: made from the image or config on first use, kept (with the device state, and its UEFI variables in PATH.vars) afterwards',
    )
    .option('--reboot', 'a guest reboot restarts the machine (as hardware does) instead of ending the run: for firmware updates')
    .option('--no-bootindex', "let the firmware's own BootOrder choose the boot entry (no QEMU bootindex, which makes OVMF rewrite BootOrder)")
    .addOption(
      // choices: `--secure-boot out/BOOTX64.EFI` would otherwise take the image as the option's value.
      new Option('--secure-boot [keys]', "x86_64: boot under OVMF's Secure Boot build; snakeoil = Debian's test keys enrolled, setup = no keys (Setup Mode)")
        .choices(SECURE_BOOT_KEYS)
        .preset('snakeoil'),
    )
    .option('-o, --out <dir>', 'when given a config: where to build', 'out')
    .addOption(profileOption().default('fast'))
    .addHelpText(
      'after',
      `
The image is put on a fresh GPT disk with an EFI System Partition (EFI/BOOT/BOOTX64.EFI) and booted by OVMF
(Debian package ovmf) with a fresh copy of its variables each run; a BOOTAA64.EFI by qemu-system-aarch64 -M virt
and AAVMF (qemu-system-arm, qemu-efi-aarch64), under TCG on an x86_64 host. A config with several architectures
is built for all of them and the first one it names is booted. A disk image (kiln disk), or a config with
storage, is booted as the whole disk on virtio-blk, from its own ESP: a fresh copy each run, so the image is never
changed, unless --keep-disk names where the disk lives across runs (a config's new build then goes onto its ESP). On a terminal, keys go to the guest:
ctrl-a x quits. SIGINT/SIGTERM to kiln presses the guest's ACPI power button and waits for a clean power-off.

--secure-boot boots OVMF_CODE_4M.secboot.fd (q35 with SMM) with a copy of OVMF_VARS_4M.snakeoil.fd: PK, KEK and db
are Debian's test certificate, so only an image signed with /usr/share/ovmf/PkKek-1-snakeoil.key (passphrase
"snakeoil") boots; the firmware refuses any other ("Access Denied"). --secure-boot=setup starts with no keys.

The guest has a virtio-net card (MAC 52:54:00:12:34:56) on QEMU's user network: a config with
network: {interfaces: [{name: eth0, dhcp: true}]} gets 10.0.2.15/24 by DHCP, the gateway and DNS are 10.0.2.2
and 10.0.2.3, and 10.0.2.2 is this host (its 127.0.0.1), so host services such as an NTP server are reachable.
The host reaches guest services only through --forward.

${EXIT_CODE_HELP}

Examples:
  kiln run out/BOOTX64.EFI
  kiln run out/BOOTAA64.EFI --expect 'kiln: ready in' --timeout 300
  kiln run examples/minimal.yml                    # builds (fast profile) into out/, then boots
  kiln run disk.img --keep-disk state.img          # a disk from kiln disk; /data survives across runs
  kiln run stick.img --arch aarch64                # a multi-architecture disk, booted by the arm64 guest
  kiln run out/BOOTX64.EFI --expect 'kiln: ready in' --timeout 120
  kiln run out/BOOTX64.EFI --forward 8080:8080     # curl http://127.0.0.1:8080/status reaches the device
  kiln run out/BOOTX64.EFI --secure-boot           # a UKI signed with the snakeoil key (kiln build --sign-key)`,
    )
    .action(
      async (
        image: string,
        opts: {
          memory: string;
          cpus: number;
          timeout?: number;
          expect?: RegExp;
          accel: string;
          tcgThreads?: 'single' | 'multi';
          forward?: PortForward[];
          network: boolean;
          out: string;
          profile: 'release' | 'fast';
          keepDisk?: string;
          arch?: string;
          reboot?: boolean;
          bootindex: boolean;
          secureBoot?: string | boolean;
        },
      ) => {
        const secureBoot = parseSecureBoot(opts.secureBoot);
        if (opts.arch !== undefined && !(ARCHES as readonly string[]).includes(opts.arch))
          throw new KilnError('RUN_BAD_OPTION', `--arch: "${opts.arch}" is not one of ${ARCHES.join(', ')}`);
        const wantArch = opts.arch as Arch | undefined;
        if (!['auto', 'kvm', 'tcg'].includes(opts.accel)) throw new KilnError('RUN_BAD_OPTION', `--accel: "${opts.accel}" is not one of auto, kvm, tcg`);
        const keepDisk = opts.keepDisk === undefined ? undefined : path.resolve(io.cwd, opts.keepDisk);
        let efi = path.resolve(io.cwd, image);
        let arch: 'x86_64' | 'aarch64' = /AA64\.EFI$/i.test(efi) ? 'aarch64' : 'x86_64';
        let disk: RunDisk | undefined;
        if (/\.(ya?ml|[cm]?[jt]s)$/.test(image)) {
          // A config with several architectures builds them all and boots the first it names.
          const resolved = await resolveConfig(path.resolve(io.cwd, image)); // once, for the build and the disk
          const bootArch = wantArch ?? resolved.arches[0]!;
          if (secureBoot !== undefined && bootArch !== 'x86_64') throw secureBootUnsupported(bootArch); // before the build
          const results = await runBuild(resolved, { out: opts.out, profile: opts.profile }, io);
          const result = wantArch === undefined ? results[0]! : results.find((r) => r.arch === wantArch);
          if (result === undefined)
            throw new KilnError(
              'RUN_BAD_OPTION',
              `--arch ${wantArch}: ${image} does not name that architecture (it builds ${results.map((r) => r.arch).join(', ')})`,
            );
          printSummary(result, { ...io, stdout: io.stderr });
          efi = result.efi;
          arch = result.arch;
          // With storage, the device boots from its whole disk (every EFI built on its ESP).
          disk = await diskFromConfig(resolved, results, keepDisk, sourceDateEpoch(io.env));
        } else if (DISK_IMAGE.test(image)) {
          disk = await diskFromImage(efi, keepDisk);
          // The guest its ESP can boot: x86_64 first; --arch picks another the disk has.
          const bootable = await diskBootArches(disk.path);
          if (wantArch !== undefined && bootable.length > 0 && !bootable.includes(wantArch)) {
            await disk.cleanup();
            throw new KilnError('RUN_BAD_OPTION', `--arch ${wantArch}: ${image} boots only ${bootable.join(', ')} (no ${efiPathOnEsp(wantArch)} on its ESP)`);
          }
          arch = wantArch ?? bootable[0] ?? 'x86_64';
        } else {
          if (wantArch !== undefined && wantArch !== arch)
            throw new KilnError('RUN_BAD_OPTION', `--arch ${wantArch}: ${image} is named as an ${arch} EFI (BOOTX64.EFI / BOOTAA64.EFI)`);
          await access(efi).catch(() => {
            throw new KilnError('RUN_NO_IMAGE', `${image}: no such file`, { hint: 'Build one first: kiln build examples/minimal.yml --out out' });
          });
          if (keepDisk !== undefined) {
            throw new KilnError('RUN_BAD_OPTION', '--keep-disk needs a disk image (kiln disk) or a config with storage, not an EFI executable', {
              hint: 'Make a disk first: kiln disk examples/gateway.yml --out disk.img, then kiln run disk.img --keep-disk state.img',
            });
          }
        }
        if (disk !== undefined) print(io.stderr, `kiln: ${disk.note}`);
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
              ...(disk === undefined ? { efi } : { disk: disk.path }),
              // A kept disk keeps its UEFI variables too: BootNext and BootOrder survive as on hardware.
              ...(keepDisk === undefined ? {} : { keepVars: varsBeside(keepDisk, secureBoot) }),
              arch,
              memory: opts.memory,
              cpus: opts.cpus,
              timeout: opts.timeout,
              expect: opts.expect,
              accel: opts.accel as AccelMode,
              tcgThreads: opts.tcgThreads,
              stdin: interactive ? io.stdin! : null,
              stdout: io.stdout,
              stderr: io.stderr,
              interactive,
              network: opts.network,
              forwards: opts.forward ?? [],
              reboot: opts.reboot === true,
              bootIndex: opts.bootindex,
              secureBoot,
            },
            abort.signal,
          );
          if (result.exitCode !== 0) print(io.stderr, `kiln: run ended: ${result.outcome} (exit ${result.exitCode})`);
          setExitCode(result.exitCode);
        } finally {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          process.off('SIGHUP', stop);
          await disk?.cleanup();
        }
      },
    );
}
