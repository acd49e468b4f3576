import path from 'node:path';
import { Command } from 'commander';
import { SECONDARY_KEYS } from '../../../device/contract/config/secondary-schema.ts';
import { checkConfig } from '../../config/check.js';
import { KilnError } from '../../util/errors.js';
import { jsonSchema } from '../../config/json-schema.js';
import { writeAtomically } from '../../pipeline/out-dir.js';
import { print, type CliIo } from '../io.js';

export function configCommand(io: CliIo): Command {
  const cmd = new Command('config').description('Check a config, or print the JSON Schema editors use');
  cmd
    .command('check')
    .description('Validate a primary or a secondary config with the messages `kiln build` and the device print; prints every problem found')
    .argument('<config>', 'kiln.yml or kiln.config.ts, or a secondary config (a YAML file without "name")')
    .option('--secondary', 'check it as a secondary config (the default for a YAML file without "name")')
    .option('--json', 'print the validated config (defaults filled in) as JSON')
    .addHelpText(
      'after',
      `
A secondary config is the YAML file on the device's writable partition (the primary config's secondary.path) that
may set only: ${SECONDARY_KEYS.join(', ')}. The device validates it with the same code at boot and on SIGHUP.`,
    )
    .action(async (file: string, opts: { secondary?: boolean; json?: boolean }) => {
      const abs = path.resolve(io.cwd, file);
      const result = await checkConfig(abs, opts.secondary ? 'secondary' : undefined);
      const kind = result.kind === 'secondary' ? 'secondary config' : 'config';
      if (result.ok) {
        print(io.stdout, opts.json ? JSON.stringify(result.value, null, 2) : `${abs}: ok (${kind})`);
        return;
      }
      for (const problem of result.problems)
        io.stderr.write(`kiln: error: ${problem}
`);
      const count = `${result.problems.length} problem${result.problems.length === 1 ? '' : 's'}`;
      throw new KilnError('CONFIG_INVALID', `${abs}: ${count} in this ${kind}`, {
        hint:
          result.kind === 'secondary' && !opts.secondary ? 'Checked as a secondary config because it has no "name"; a primary config needs one.' : undefined,
      });
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
