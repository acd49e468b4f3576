import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { routes } from '../../device-api/client.js';
import { LOG_NAMES, pickBoot, readDiskLog, splitBoots } from '../../logs/disk-logs.js';
import { KilnError } from '../../util/errors.js';
import { DEVICE_HELP, deviceClient, withDeviceOptions, type DeviceOptions } from '../device-target.js';
import { print, type CliIo } from '../io.js';

function bootNumber(value: string): number {
  if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number: 0 the last boot, -1 the one before, 1 the oldest');
  return Number(value);
}

function lineCount(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number of lines, 0 or more');
  return Number(value);
}

interface LogsOptions extends DeviceOptions {
  kernel?: boolean;
  boot?: number;
  list?: boolean;
  dir?: string;
  follow?: boolean;
  tail?: number;
}

const DISK_ONLY = ['kernel', 'boot', 'list', 'dir'] as const;
const DEVICE_ONLY = ['follow', 'tail', 'tokenFile', 'timeout'] as const;
const flag = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

export function logsCommand(io: CliIo): Command {
  return withDeviceOptions(
    new Command('logs')
      .description("Print a device's persisted logs from its disk image (no root needed), or with --device a container's log from the running device")
      .argument('<disk|container>', 'disk image from `kiln disk` or `kiln run --keep-disk`; with --device, a container name as kiln ps lists it')
      .option('--kernel', "the kernel's log (kernel.log) instead of the init's (init.log)")
      .option('--boot <n>', 'only one boot: 0 the last, -1 the one before, 1 the oldest kept', bootNumber)
      .option('--list', 'list the boots in the log')
      .option('--dir <folder>', 'the log folder inside its partition, e.g. /log (default: searched for)')
      .option('-f, --follow', 'with --device: keep printing new lines until ctrl-c')
      .option('-n, --tail <n>', "with --device: the last N lines kept on the device (default: the device's 200)", lineCount),
    { required: false },
  )
    .addHelpText(
      'after',
      `
The device appends to init.log and kernel.log in the config's logs.path, rotating them at logs.maxBytes; each boot
starts with a "-- kiln boot <id>: ..." line. This reads them with debugfs (e2fsprogs) from the ext4 partition of the
image; when the device did not shut down cleanly, its journal is replayed on a temporary copy first.

  kiln logs disk.img                  # the init's log, every boot kept
  kiln logs disk.img --kernel --boot -1   # the kernel's log of the boot before the last

With --device, a running container's recent lines as the device keeps them in memory, and with --follow its
new ones as they come.
${DEVICE_HELP}

  KILN_TOKEN=... kiln logs --device 192.168.1.20:18080 web --tail 50
  kiln logs --device [::1]:18080 --token-file gw.token web --follow     # ctrl-c stops`,
    )
    .action(async (target: string, opts: LogsOptions) => {
      const given = (keys: readonly (keyof LogsOptions)[]) => keys.filter((k) => opts[k] !== undefined).map(flag);
      if (opts.device !== undefined) {
        const wrong = given(DISK_ONLY);
        if (wrong.length > 0) throw new KilnError('LOGS_BAD_OPTION', `${wrong.join(', ')}: only for a disk image, not with --device`);
        return deviceLogs(io, target, opts);
      }
      const wrong = given(DEVICE_ONLY);
      if (wrong.length > 0) {
        throw new KilnError('LOGS_BAD_OPTION', `${wrong.join(', ')}: only with --device HOST:PORT (a running device)`, {
          hint: `kiln logs --device HOST:PORT ${target} ${wrong.join(' ')}`,
        });
      }
      const disk = target;
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

/** A container's lines from the running device; with --follow until ctrl-c (exit 0) or the device goes (exit 1). */
async function deviceLogs(io: CliIo, container: string, opts: LogsOptions): Promise<void> {
  const client = await deviceClient(opts, io);
  const stop = new AbortController();
  const abort = () => stop.abort();
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  // A reader that went away (`| head`): stop quietly, like any other pipe writer.
  io.stdout.once('error', abort);
  try {
    const end = await client.stream(routes.logs(container, { tail: opts.tail, follow: opts.follow }), (text) => io.stdout.write(text), stop.signal);
    if (end === 'lost' || (end === 'ended' && opts.follow)) {
      throw new KilnError('DEVICE_CONNECTION_LOST', `${client.address.label}: the device closed the log stream of ${container}`, {
        hint: 'It may be rebooting or unreachable: kiln status --device shows when it is back.',
      });
    }
  } finally {
    process.off('SIGINT', abort);
    process.off('SIGTERM', abort);
    io.stdout.off('error', abort);
  }
}
