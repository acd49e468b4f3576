import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import type { UpdateStatus } from '../../../device/contract/update/status.ts';
import { resolveConfig } from '../../config/resolve.js';
import { ARCHES, ARCH_TABLE } from '../../config/arch.js';
import { routes } from '../../device-api/client.js';
import { loadPrivateKey } from '../../update/keys.js';
import { releaseOf, type Release } from '../../update/release.js';
import { buildOfEfi } from '../../update/from-efi.js';
import { looksLikeRegistryRef, releaseFromRegistry } from '../../update/from-registry.js';
import { existsSync } from 'node:fs';
import { sendRelease, waitForOutcome } from '../../update/deliver.js';
import { KilnError } from '../../util/errors.js';
import { createReporter } from '../../util/report.js';
import { DEVICE_HELP, deviceClient, withDeviceOptions, type DeviceOptions } from '../device-target.js';
import { print, type CliIo } from '../io.js';
import { profileOption, runBuild } from './build.js';

/** The slot lines a person reads (also under `kiln status`). */
export function describeUpdate(status: UpdateStatus): string[] {
  if (!status.available) return [`updates:    unavailable: ${status.reason ?? 'unknown reason'}`];
  const lines = status.slots.map(
    (s) =>
      `slot ${s.name}:     ${s.version === undefined ? '(unknown)' : `${s.version} (build ${s.buildId})`}${s.booted ? ', booted' : ''}${s.committed ? ', committed' : ''}${s.entry === undefined ? '' : `, Boot${s.entry.toString(16).toUpperCase().padStart(4, '0')}`}`,
  );
  if (status.running.slot === 'fallback') lines.push('booted:     the ESP fallback (EFI/BOOT), not a slot');
  if (status.pending !== undefined)
    lines.push(`pending:    ${status.pending.version} (build ${status.pending.buildId}) in slot ${status.pending.slot}: ${status.pending.phase}`);
  if (status.last !== undefined)
    lines.push(
      `last:       ${status.last.outcome} ${status.last.version} (build ${status.last.buildId}) at ${status.last.at}${status.last.reason === undefined ? '' : `: ${status.last.reason}`}`,
    );
  if (status.failed.length > 0) lines.push(`not retried: ${status.failed.join(', ')} (failed their trial; --force to try again)`);
  return lines;
}

function statusCommand(io: CliIo): Command {
  return withDeviceOptions(new Command('status').description("A device's firmware slots: versions, booted, committed, pending, the last result"), {
    required: false,
  })
    .option('--json', 'print GET /v1/update as it is')
    .action(async (_opts: unknown, command: Command) => {
      // `kiln update --device X status` and `kiln update status --device X` both work: the parent shares the options.
      const opts = command.optsWithGlobals<DeviceOptions & { json?: boolean }>();
      const status = await (await deviceClient(opts, io)).json<UpdateStatus>(routes.update());
      if (opts.json) return print(io.stdout, JSON.stringify(status, null, 2));
      for (const line of describeUpdate(status)) print(io.stdout, line);
    });
}

export function updateCommand(io: CliIo): Command {
  // --device and --key are checked in the action: `kiln update status` is a subcommand with options of its own.
  const command = withDeviceOptions(
    new Command('update').description('Send a signed firmware to a device and follow it to committed or rolled back (A/B slots, tried once)'),
    { required: false },
  )
    .argument(
      '<target>',
      "the config (kiln.yml: built first), a UEFI executable kiln built (out/BOOTX64.EFI), or its folder (out/: the device's architecture's EFI)",
    )
    .option('--key <file>', 'the update signing key (update.key from kiln keys); required unless the target is a registry reference')
    .addOption(profileOption())
    .option('--force', 'install a build that failed its trial before')
    .option('--no-reboot', 'install and set BootNext, but let the device reboot later (the next reboot tries it)')
    .option('--no-wait', 'return once the device has the firmware, without waiting for the outcome')
    .option('--wait <seconds>', 'how long to wait for the outcome', (v) => Number(v), 900)
    .option('--json', 'print the outcome as JSON')
    .option('-q, --quiet', 'no progress output')
    .addHelpText(
      'after',
      `
The device checks the signature, name, architecture and version before it writes anything, streams the firmware
into its inactive slot checking size and SHA-256, reads it back, sets BootNext and reboots. The new firmware boots
once; if it reaches ready and its required containers stay healthy for update.healthSeconds it is committed
(BootOrder), otherwise — a crash, a hang the watchdog resets, a failed health gate — the firmware falls back to the
committed slot by itself and the device reports why. Exit 0: committed; 1: refused or rolled back.

${DEVICE_HELP}

Examples:
  KILN_TOKEN=... kiln update --device 10.0.0.5:18080 --key keys/update.key fleet.yml
  kiln update --device 127.0.0.1:18080 --token-file token --key keys/update.key out/BOOTX64.EFI --json
  kiln update --device 10.0.0.5:18080 REGISTRY/fleet/gateway:1.4.2    # what kiln push published
  kiln update status --device 10.0.0.5:18080`,
    )
    .action(
      async (
        target: string,
        opts: DeviceOptions & {
          key?: string;
          profile: 'release' | 'fast';
          force?: boolean;
          reboot: boolean;
          wait: number | boolean;
          json?: boolean;
          quiet?: boolean;
        },
      ) => {
        const started = Date.now();
        const reporter = createReporter(io.stderr, { quiet: opts.quiet, env: io.env });
        // A registry reference is a firmware `kiln push` signed already; anything else is signed here.
        const fromRegistry = looksLikeRegistryRef(target) && !existsSync(path.resolve(io.cwd, target));
        if (opts.key === undefined && !fromRegistry)
          throw new KilnError('UPDATE_NO_KEY', '--key FILE is required: the device installs only signed firmware', {
            hint: 'Make a pair with `kiln keys --out keys`; pass --key keys/update.key.',
          });
        const key = opts.key === undefined ? undefined : await loadPrivateKey(path.resolve(io.cwd, opts.key));
        const client = await deviceClient({ ...opts, timeout: opts.timeout ?? 15 }, io);
        const before = await client.json<UpdateStatus & { arch?: string }>(routes.update());
        if (!before.available) throw new KilnError('UPDATE_UNAVAILABLE', `${client.address.label}: updates are unavailable: ${before.reason}`);
        const deviceArch = (await client.json<{ arch?: string }>(routes.status())).arch;
        let file = path.resolve(io.cwd, target);
        const isConfig = /\.(ya?ml|ts|mjs|js)$/.test(file);
        // An output folder of kiln build: the device's architecture's EFI in it.
        if (
          !isConfig &&
          (await stat(file).then(
            (s) => s.isDirectory(),
            () => false,
          ))
        ) {
          const arch = ARCHES.find((a) => a === deviceArch);
          if (arch === undefined)
            throw new KilnError('UPDATE_WRONG_ARCH', `${client.address.label}: the device reports no architecture kiln knows (${deviceArch})`);
          file = path.join(file, ARCH_TABLE[arch].efiName);
        }
        let release: Release;
        const scratch = await mkdtemp(path.join(os.tmpdir(), 'kiln-update-'));
        try {
          if (fromRegistry) {
            const arch = ARCHES.find((a) => a === deviceArch);
            if (arch === undefined)
              throw new KilnError('UPDATE_WRONG_ARCH', `${client.address.label}: the device reports no architecture kiln knows (${deviceArch})`);
            release = await releaseFromRegistry(target, arch, scratch, reporter);
          } else if (key === undefined) {
            throw new KilnError('UPDATE_NO_KEY', '--key FILE is required: the device installs only signed firmware');
          } else if (isConfig) {
            const resolved = await resolveConfig(file);
            const builds = await runBuild(resolved, { out: scratch, profile: opts.profile, quiet: opts.quiet }, io);
            const build = builds.find((b) => b.arch === deviceArch);
            if (build === undefined) {
              throw new KilnError(
                'UPDATE_WRONG_ARCH',
                `${target} builds ${builds.map((b) => b.arch).join(', ')}; the device is ${deviceArch ?? 'of an unknown architecture'}`,
              );
            }
            release = await releaseOf(build, resolved.config.version, key, scratch);
          } else {
            const efi = await buildOfEfi(file, target);
            release = await releaseOf(efi, efi.version, key, scratch);
          }
          const sent = await sendRelease(client, release, { force: opts.force, reboot: opts.reboot, reporter });
          const { version, buildId } = release.signed.statement;
          let result: { outcome: string; slot: string; reason?: string } = { outcome: 'installed', slot: sent.slot };
          if (opts.wait !== false && sent.rebooting) {
            result = await waitForOutcome(client, buildId, { timeoutMs: Number(opts.wait) * 1000, reporter });
          }
          const seconds = (Date.now() - started) / 1000;
          if (opts.json) print(io.stdout, JSON.stringify({ ...result, version, buildId, seconds }, null, 2));
          else if (result.outcome === 'installed')
            print(
              io.stdout,
              `${client.address.label}: ${version} (build ${buildId}) installed in slot ${sent.slot}${sent.rebooting ? ', rebooting' : '; the next reboot tries it'}`,
            );
          else if (result.outcome === 'committed')
            print(io.stdout, `${client.address.label}: ${version} (build ${buildId}) committed in slot ${result.slot} (${seconds.toFixed(0)} s)`);
          if (result.outcome === 'rolled-back') {
            throw new KilnError(
              'UPDATE_ROLLED_BACK',
              `${client.address.label}: ${version} (build ${buildId}) was rolled back: ${result.reason ?? 'no reason given'}`,
              {
                hint: 'The device runs its committed firmware. Fix the cause, bump version and send it again (--force retries the same build).',
              },
            );
          }
        } finally {
          await rm(scratch, { recursive: true, force: true });
        }
      },
    );
  command.addCommand(statusCommand(io));
  return command;
}
