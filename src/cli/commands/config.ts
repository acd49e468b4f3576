import path from 'node:path';
import { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { ConfigError } from '../../config/errors.js';
import { jsonSchema } from '../../config/json-schema.js';
import { writeAtomically } from '../../build/out-dir.js';
import { print, type CliIo } from '../io.js';

export function configCommand(io: CliIo): Command {
  const cmd = new Command('config').description('Check a config, or print the JSON Schema editors use');
  cmd
    .command('check')
    .description('Validate a config with the same messages as `kiln build`; prints every problem found')
    .argument('<config>', 'kiln.yml or kiln.config.ts')
    .option('--json', 'print the resolved config (defaults filled in) as JSON')
    .action(async (file: string, opts: { json?: boolean }) => {
      try {
        const { config } = await loadConfig(path.resolve(io.cwd, file));
        if (opts.json) print(io.stdout, JSON.stringify(config, null, 2));
        else print(io.stdout, `${file}: ok`);
      } catch (err) {
        // Show every problem, not just the first, then fail like build would.
        if (err instanceof ConfigError && err.problems.length > 1) {
          for (const p of err.problems.slice(1)) io.stderr.write(`kiln: error: ${p}\n`);
        }
        throw err;
      }
    });
  cmd
    .command('schema')
    .description('Print (or write with --out) the JSON Schema of kiln.yml')
    .option('--out <file>', 'write it to this file')
    .action(async (opts: { out?: string }) => {
      const text = `${JSON.stringify(jsonSchema(), null, 2)}\n`;
      if (opts.out) await writeAtomically(path.resolve(io.cwd, opts.out), Buffer.from(text));
      else io.stdout.write(text);
    });
  return cmd;
}
