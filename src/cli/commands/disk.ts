import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { Command, InvalidArgumentError } from 'commander';
import { cacheRoot } from '../../inputs/cache.js';
import { describeBlockDevice, formatSize, makeDisk, parseSize, type BlockDeviceInfo, type DiskResult } from '../../disk/index.js';
import { KilnError } from '../../util/errors.js';
import { createReporter } from '../../util/report.js';
import { mb, table } from '../format.js';
import { print, type CliIo } from '../io.js';
import { profileOption, signingOf, signOptions, sourceDateEpoch } from './build.js';

function size(value: string): string {
  const bytes = parseSize(value);
  if (bytes === undefined || bytes <= 0) throw new InvalidArgumentError('expected a size like 512M, 2G or 8GiB');
  return value;
}

/** Asks on the terminal; without one, only --yes may say yes. */
async function confirmOnTerminal(io: CliIo, device: BlockDeviceInfo): Promise<boolean> {
  const what = describeBlockDevice(device);
  if (io.stdin?.isTTY !== true) {
    throw new KilnError('DISK_NOT_CONFIRMED', `refusing to write ${what} without a confirmation, and there is no terminal to ask on`, {
      hint: 'Add --yes once you are sure it is the right disk.',
    });
  }
  const rl = createInterface({ input: io.stdin, output: io.stderr });
  try {
    const answer = await rl.question(`kiln: write the disk to ${what}? Everything on it will be lost. Type "yes" to go on: `);
    return answer.trim() === 'yes';
  } finally {
    rl.close();
  }
}

export function printDiskSummary(r: DiskResult, io: CliIo): void {
  const rows: string[][] = [['#', 'label', 'filesystem', 'size', 'offset', 'content']];
  for (const p of r.partitions) {
    const content = [p.esp ? 'EFI/BOOT (the EFI)' : '', p.contentDir === undefined ? '' : path.relative(io.cwd, p.contentDir) || '.']
      .filter(Boolean)
      .join(' + ');
    rows.push([String(p.number), p.label, p.esp ? 'vfat (ESP)' : p.filesystem, formatSize(p.sizeBytes), formatSize(p.offsetBytes), content || '-']);
  }
  print(io.stdout, table(rows));
  print(io.stdout);
  const target = r.kind === 'image' ? path.relative(io.cwd, r.target) || r.target : r.target;
  const efis = r.builds.map((b) => `${b.arch} EFI ${mb(b.size)} (${b.profile}, build ${b.buildId})`).join(', ');
  const buildSeconds = r.builds.reduce((sum, b) => sum + b.durationMs, 0) / 1000;
  print(io.stdout, `${target}: ${formatSize(r.diskSizeBytes)} GPT disk, ${efis} in ${(r.durationMs / 1000).toFixed(1)} s (build ${buildSeconds.toFixed(1)} s)`);
}

export function diskCommand(io: CliIo): Command {
  const cmd = new Command('disk')
    .description('Write a whole bootable disk from a config: GPT, the FAT32 ESP holding the EFI, ext4 partitions')
    .argument('<config>', 'kiln.yml or kiln.config.ts (its storage section is the partition table)')
    .option('-o, --out <file>', 'write a disk image file (e.g. disk.img)')
    .option('--size <size>', 'size of the image, e.g. 2G; a "rest" partition gets what the others leave (default: 1G when one does)', size)
    .option('--device <path>', 'write a real disk (a whole block device, e.g. /dev/sdb) after a confirmation')
    .option('-y, --yes', 'with --device: do not ask (for scripts)')
    .addOption(profileOption())
    .option('--json', 'print the result as JSON on stdout (progress stays on stderr)')
    .option('-q, --quiet', 'no progress output');
  for (const option of signOptions()) cmd.addOption(option);
  return cmd
    .addHelpText(
      'after',
      `
Partitions come from storage.partitions in the config, in order, each on a 1 MiB boundary: the ESP gets
EFI/BOOT/BOOTX64.EFI (built first, as kiln build does) plus its content folder; ext4 partitions are made by
mkfs.ext4 (e2fsprogs) with their content folder copied in (-d). The GPT names each partition by its label.
A config without storage gets a disk with just a 64 MiB ESP. No root and no loop device are needed for an image:
it is written to a temporary file and renamed, so disk.img is either the old file or the complete new one.
With signing in the config, or --sign-key/--sign-cert, every EFI on the disk is signed for Secure Boot (kiln build --help).

--device writes a real disk in place, after a confirmation that names its model and size; it refuses a disk
that is mounted or otherwise in use, and a partition (give the whole disk).

Examples:
  kiln disk examples/gateway.yml --out disk.img              # 1 GiB image: ESP 64 MiB + DATA (the rest)
  kiln disk examples/gateway.yml --out disk.img --size 4G
  kiln run disk.img                                          # boot it in QEMU (a fresh copy each run)
  sudo kiln disk examples/gateway.yml --device /dev/sdb      # asks first; --yes for scripts`,
    )
    .action(
      async (
        config: string,
        opts: {
          out?: string;
          size?: string;
          device?: string;
          yes?: boolean;
          profile: 'release' | 'fast';
          json?: boolean;
          quiet?: boolean;
          signKey?: string;
          signCert?: string;
        },
      ) => {
        if (opts.yes && opts.device === undefined) throw new KilnError('DISK_BAD_OPTION', '--yes is for --device only (an image file needs no confirmation)');
        const signing = signingOf(opts, io);
        const result = await makeDisk({
          configFile: path.resolve(io.cwd, config),
          out: opts.out === undefined ? undefined : path.resolve(io.cwd, opts.out),
          device: opts.device,
          sizeBytes: opts.size === undefined ? undefined : parseSize(opts.size),
          sizeText: opts.size,
          profile: opts.profile,
          cacheRoot: cacheRoot(io.env),
          reporter: createReporter(io.stderr, { quiet: opts.quiet, env: io.env }),
          mtime: sourceDateEpoch(io.env),
          signing,
          confirm: (device) => (opts.yes ? Promise.resolve(true) : confirmOnTerminal(io, device)),
        });
        if (opts.json) print(io.stdout, JSON.stringify(result, null, 2));
        else printDiskSummary(result, io);
      },
    );
}
