/**
 * `kiln push CONFIG --to REGISTRY/REPO:TAG --key update.key`: builds every architecture of the config into a scratch
 * folder, signs each (src/update/release.ts), and publishes them as one OCI firmware artifact (src/update/push.ts).
 * The target and the key are checked, and the registry asked once, before the build: a typo costs seconds, not a
 * release build.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { resolveConfig } from '../../config/resolve.js';
import { loadPrivateKey } from '../../update/keys.js';
import { checkPushTarget, parsePushTarget, pushFirmware, type PushResult } from '../../update/push.js';
import { releaseOf } from '../../update/release.js';
import { KilnError } from '../../util/errors.js';
import { createReporter } from '../../util/report.js';
import { print, type CliIo } from '../io.js';
import { profileOption, runBuild } from './build.js';

interface PushOptions {
  to: string;
  key: string;
  profile: 'release' | 'fast';
  json?: boolean;
  quiet?: boolean;
}

/** Builds, signs and pushes; the result as printed with --json. */
export async function runPush(config: string, opts: PushOptions, io: CliIo): Promise<PushResult & { version: string }> {
  const target = parsePushTarget(opts.to);
  const key = await loadPrivateKey(path.resolve(io.cwd, opts.key));
  const resolved = await resolveConfig(path.resolve(io.cwd, config));
  const reporter = createReporter(io.stderr, { quiet: opts.quiet, env: io.env });
  reporter.step(`checking ${target.name}`);
  await checkPushTarget(target);
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'kiln-push-'));
  try {
    const builds = await runBuild(resolved, { out: scratch, profile: opts.profile, quiet: opts.quiet }, io);
    const version = resolved.config.version;
    const releases = await Promise.all(builds.map((build) => releaseOf(build, version, key, scratch)));
    const epoch = io.env.SOURCE_DATE_EPOCH;
    const result = await pushFirmware(
      target,
      releases.map((r) => ({ payloadPath: r.payload, statementBytes: r.signed.bytes, signature: r.signed.signature })),
      { reporter, ...(epoch !== undefined && /^\d+$/.test(epoch) ? { created: new Date(Number(epoch) * 1000) } : {}) },
    );
    return { ...result, version };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

export function pushCommand(io: CliIo): Command {
  return new Command('push')
    .description('Build every architecture of a config, sign each, and publish them as one OCI artifact in a registry')
    .argument('<config>', 'kiln.yml or kiln.config.ts')
    .requiredOption('--to <ref>', 'REGISTRY/REPOSITORY:TAG to publish to (http://127.0.0.1:PORT/… for a registry on this machine without TLS)')
    .requiredOption('--key <file>', 'the update signing key (update.key from kiln keys)')
    .addOption(profileOption())
    .option('--json', 'print the pushed digests as JSON on stdout (progress stays on stderr)')
    .option('-q, --quiet', 'no progress output')
    .addHelpText(
      'after',
      `
The tag names an OCI image index (artifactType application/vnd.kiln.firmware.v1) with one manifest per
architecture (platform linux/amd64, linux/arm64); each manifest's layers are the UEFI executable and its signed
statement (name, version, build id, architecture, size, SHA-256), the signature an annotation. A device checks
that signature against the update.publicKey built into it before it writes a byte of the firmware.

Blobs the registry already has are not sent again; the index goes last, so the tag never names a half-pushed
release. HTTPS always, except to a loopback registry; anonymous, or with the anonymous token of a bearer
challenge. The version is the config's \`version\`. skopeo inspect --raw docker://REGISTRY/REPOSITORY:TAG shows it.

Examples:
  kiln keys --out keys                                                        # once: the signing pair
  kiln push fleet.yml --to REGISTRY/fleet/gateway:1.4.2 --key keys/update.key
  kiln push fleet.yml --to http://127.0.0.1:5000/fleet/gateway:dev --key keys/update.key --profile fast
  kiln push fleet.yml --to REGISTRY/fleet/gateway:1.4.2 --key keys/update.key --json | jq -r .digest`,
    )
    .action(async (config: string, opts: PushOptions) => {
      const result = await runPush(config, opts, io);
      if (opts.json) return print(io.stdout, JSON.stringify(result, null, 2));
      print(io.stdout, `pushed ${result.ref}@${result.digest} (${result.manifests.map((m) => `${m.arch} ${m.digest}`).join(', ')})`);
    });
}
