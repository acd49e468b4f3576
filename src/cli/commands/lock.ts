import path from 'node:path';
import { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { configArches } from '../../config/schema.js';
import { Cache, cacheRoot } from '../../inputs/cache.js';
import { LOCK_NAME, readLock } from '../../inputs/lock.js';
import { preparePrograms } from '../../programs/prepare.js';
import { resolveInputs } from '../../inputs/resolve.js';
import { createReporter } from '../../util/report.js';
import { print, type CliIo } from '../io.js';

export function lockCommand(io: CliIo): Command {
  return new Command('lock')
    .description("Pin every input of a config in kiln.lock (name, version, sha256), and its programs' npm dependency trees, and fill the cache")
    .argument('<config>', 'kiln.yml or kiln.config.ts')
    .option('--update', 'resolve every input again to the newest version and rewrite kiln.lock')
    .option('--json', 'print the pinned inputs as JSON')
    .addHelpText(
      'after',
      `
Without --update, inputs already pinned are verified (downloaded again only when missing from the cache) and
new ones are added. A download whose sha256 differs from the pin stops with both hashes.

Examples:
  kiln lock examples/minimal.yml            # pin and fetch what is missing
  kiln lock examples/minimal.yml --update   # take the newest kernel, Node.js, koffi, ...`,
    )
    .action(async (configFile: string, opts: { update?: boolean; json?: boolean }) => {
      const { config, dir } = await loadConfig(path.resolve(io.cwd, configFile));
      const lockFile = path.join(dir, LOCK_NAME);
      const entries = [];
      const arches = configArches(config);
      for (const arch of arches) {
        const inputs = await resolveInputs(config, arch, {
          cache: new Cache(cacheRoot(io.env)),
          lockFile,
          update: opts.update,
          reporter: createReporter(io.stderr, { env: io.env }),
        });
        // One architecture: roles as before; several: "<arch>/<role>", the lock's own keys.
        entries.push(...Object.entries(inputs).map(([role, i]) => ({ role: arches.length > 1 ? `${arch}/${role}` : role, ...i.entry })));
      }
      // Programs' npm dependency trees (arch-independent): pinned, installed into the cache, checked.
      if (config.programs.length > 0) {
        const cache = new Cache(cacheRoot(io.env));
        await preparePrograms({
          programs: config.programs,
          configDir: dir,
          configName: configFile,
          cache,
          update: opts.update,
          reporter: createReporter(io.stderr, { env: io.env }),
        });
        const lock = await readLock(lockFile);
        for (const p of config.programs) {
          const e = lock?.inputs[`programs/${p.name}`];
          if (e !== undefined) entries.push({ role: `programs/${p.name}`, ...e });
        }
      }
      if (opts.json) print(io.stdout, JSON.stringify(entries, null, 2));
      else for (const e of entries) print(io.stdout, `${e.role.padEnd(arches.length > 1 ? 22 : 14)} ${e.name} ${e.version}  sha256:${e.sha256.slice(0, 16)}…`);
    });
}
