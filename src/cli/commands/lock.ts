import path from 'node:path';
import { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { Cache, cacheRoot } from '../../inputs/cache.js';
import { LOCK_NAME } from '../../inputs/lock.js';
import { resolveInputs } from '../../inputs/resolve.js';
import { createReporter } from '../../util/report.js';
import { print, type CliIo } from '../io.js';

export function lockCommand(io: CliIo): Command {
  return new Command('lock')
    .description('Pin every input of a config in kiln.lock (name, version, sha256) and fill the cache')
    .argument('<config>', 'kiln.yml or kiln.config.ts')
    .option('--update', 'resolve every input again to the newest version and rewrite kiln.lock')
    .option('--json', 'print the pinned inputs as JSON')
    .addHelpText('after', `
Without --update, inputs already pinned are verified (downloaded again only when missing from the cache) and
new ones are added. A download whose sha256 differs from the pin stops with both hashes.

Examples:
  kiln lock examples/minimal.yml            # pin and fetch what is missing
  kiln lock examples/minimal.yml --update   # take the newest kernel, Node.js, koffi, ...`)
    .action(async (configFile: string, opts: { update?: boolean; json?: boolean }) => {
      const { config, dir } = await loadConfig(path.resolve(io.cwd, configFile));
      const lockFile = path.join(dir, LOCK_NAME);
      const inputs = await resolveInputs(config, config.arch, {
        cache: new Cache(cacheRoot(io.env)),
        lockFile,
        update: opts.update,
        reporter: createReporter(io.stderr, { env: io.env }),
      });
      const entries = Object.entries(inputs).map(([role, i]) => ({ role, ...i.entry }));
      if (opts.json) print(io.stdout, JSON.stringify(entries, null, 2));
      else for (const e of entries) print(io.stdout, `${e.role.padEnd(14)} ${e.name} ${e.version}  sha256:${e.sha256.slice(0, 16)}…`);
    });
}
