/**
 * kiln's command line: parses argv and dispatches; every command lives in commands/. `run(argv, io)` returns the
 * exit code, so tests drive the CLI without spawning it. Errors print as one line (`kiln: error: ...`) plus a
 * hint; the stack only with --debug.
 */
import { Command, CommanderError } from 'commander';
import { KilnError } from '../util/errors.js';
import { KILN_VERSION } from '../version.js';
import { buildCommand } from './commands/build.js';
import { configCommand } from './commands/config.js';
import { containerActionCommand } from './commands/container-action.js';
import { diskCommand } from './commands/disk.js';
import { lockCommand } from './commands/lock.js';
import { logsCommand } from './commands/logs.js';
import { powerCommand } from './commands/power.js';
import { psCommand } from './commands/ps.js';
import { pushCommand } from './commands/push.js';
import { runCommand } from './commands/run.js';
import { setupCommand } from './commands/setup.js';
import { statusCommand } from './commands/status.js';
import { keysCommand } from './commands/keys.js';
import { updateCommand } from './commands/update.js';
import type { CliIo } from './io.js';

export type { CliIo } from './io.js';

export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode = 0;
  const debug = argv.includes('--debug');
  const program = new Command('kiln')
    .version(KILN_VERSION)
    .description('Declarative real-time Linux firmware for edge devices: one YAML file in, one bootable UEFI image out.')
    .option('--debug', 'print stack traces with errors')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride()
    .showSuggestionAfterError()
    .addHelpText(
      'after',
      `
A device is one YAML file (see examples/minimal.yml; editors check it against schema/kiln.schema.json).
kiln build turns it into one Unified Kernel Image — PREEMPT_RT kernel, an initramfs with kiln's TypeScript init
run by Node.js, and the kernel command line — that UEFI firmware boots directly as EFI/BOOT/BOOTX64.EFI.

Start here:
  kiln setup                                   # host packages (QEMU, OVMF, xz, ...)
  kiln build examples/minimal.yml --out out    # -> out/BOOTX64.EFI
  kiln run out/BOOTX64.EFI                     # boot it in QEMU; ctrl-a x quits
  kiln disk examples/gateway.yml --out disk.img  # a whole bootable disk: ESP + ext4 partitions

A running device (its management API on the config's apiPort; token from $KILN_TOKEN or --token-file):
  kiln ps --device 192.168.1.20:18080          # containers; also status, logs, start, stop, restart, reboot, poweroff

Firmware updates (examples/fleet.yml: two boot slots, tried once, committed when healthy, rolled back otherwise):
  kiln keys --out keys                         # the signing pair: keys/update.key stays here
  kiln update --device 192.168.1.20:18080 --key keys/update.key fleet.yml   # waits for committed or rolled back
  kiln push fleet.yml --to REGISTRY/fleet:stable --key keys/update.key      # or publish it; devices pull it`,
    );
  const deviceCommands = [
    statusCommand(io),
    psCommand(io),
    ...(['start', 'stop', 'restart'] as const).map((action) => containerActionCommand(io, action)),
    powerCommand(io, 'reboot'),
    powerCommand(io, 'poweroff'),
  ];
  for (const cmd of [
    buildCommand(io),
    diskCommand(io),
    runCommand(io, (c) => (exitCode = c)),
    lockCommand(io),
    pushCommand(io),
    configCommand(io),
    logsCommand(io),
    ...deviceCommands,
    keysCommand(io),
    updateCommand(io),
    setupCommand(io),
  ]) {
    program.addCommand(cmd.exitOverride().configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) }));
  }
  for (const sub of program.commands.flatMap((c) => c.commands)) sub.exitOverride();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof KilnError) {
      io.stderr.write(`kiln: error: ${err.message}\n`);
      if (err.hint) io.stderr.write(`kiln: ${err.hint}\n`);
      if (debug && err.stack) io.stderr.write(`${err.stack}\n`);
      return 1;
    }
    const e = err as Error;
    io.stderr.write(`kiln: internal error: ${e?.message ?? String(err)}\n`);
    io.stderr.write(debug ? `${e?.stack}\n` : 'kiln: run again with --debug for the stack trace, and please report it\n');
    return 70;
  }
}
