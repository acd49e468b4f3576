import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { LOG_NAMES, pickBoot, readDiskLog, splitBoots } from '../../logs/disk-logs.js';
import { KilnError } from '../../util/errors.js';
import { print, type CliIo } from '../io.js';

function bootNumber(value: string): number {
  if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number: 0 the last boot, -1 the one before, 1 the oldest');
  return Number(value);
}

export function logsCommand(io: CliIo): Command {
  return new Command('logs')
    .description("Print a device's persisted logs from its disk image (no root needed)")
    .argument('<disk>', 'disk image from `kiln disk` or `kiln run --keep-disk`')
    .option('--kernel', "the kernel's log (kernel.log) instead of the init's (init.log)")
    .option('--boot <n>', 'only one boot: 0 the last, -1 the one before, 1 the oldest kept', bootNumber)
    .option('--list', 'list the boots in the log')
    .option('--dir <folder>', 'the log folder inside its partition, e.g. /log (default: searched for)')
    .addHelpText(
      'after',
      `
The device appends to init.log and kernel.log in the config's logs.path, rotating them at logs.maxBytes; each boot
starts with a "-- kiln boot <id>: ..." line. This reads them with debugfs (e2fsprogs) from the ext4 partition of the
image; when the device did not shut down cleanly, its journal is replayed on a temporary copy first.

  kiln logs disk.img                  # the init's log, every boot kept
  kiln logs disk.img --kernel --boot -1   # the kernel's log of the boot before the last`,
    )
    .action(async (disk: string, opts: { kernel?: boolean; boot?: number; list?: boolean; dir?: string }) => {
      const name = opts.kernel ? LOG_NAMES.kernel : LOG_NAMES.init;
      const found = await readDiskLog(path.resolve(io.cwd, disk), name, opts.dir);
      const boots = splitBoots(found.text);
      if (opts.list) {
        const marked = boots.filter((b) => b.bootId !== undefined);
        marked.forEach((boot, i) => {
          const n = i - (marked.length - 1);
          print(io.stdout, `${String(n).padStart(3)}  ${boot.bootId}  ${boot.description}  (${boot.lines.length} lines)`);
        });
        return;
      }
      if (opts.boot === undefined) {
        io.stdout.write(found.text);
        return;
      }
      const boot = pickBoot(boots, opts.boot);
      if (boot === undefined) {
        const count = boots.filter((b) => b.bootId !== undefined).length;
        throw new KilnError('LOGS_NO_BOOT', `${disk}: no boot ${opts.boot} in ${found.dir}/${name}: it holds ${count} boot${count === 1 ? '' : 's'}`, {
          hint: 'kiln logs --list shows them; 0 is the last, -1 the one before, 1 the oldest.',
        });
      }
      print(io.stdout, `-- kiln boot ${boot.bootId}: ${boot.description} --`);
      for (const line of boot.lines) print(io.stdout, line);
    });
}
