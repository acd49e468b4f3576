import path from 'node:path';
import { Command } from 'commander';
import { generateKeys } from '../../update/keys.js';
import { print, type CliIo } from '../io.js';

export function keysCommand(io: CliIo): Command {
  return new Command('keys')
    .description('Make the Ed25519 key pair that signs firmware updates: update.key stays here, update.pub goes into the config')
    .option('-o, --out <dir>', 'folder for update.key and update.pub', 'keys')
    .option('--json', 'print the paths and the fingerprint as JSON')
    .addHelpText(
      'after',
      `
A device built with \`update: { publicKey: keys/update.pub }\` installs only firmware signed with the matching
update.key (kiln update --key, kiln push --key). Keep update.key off the devices and out of version control;
an existing key is never overwritten — every device in the field trusts it.

Examples:
  kiln keys --out keys                                 # keys/update.key (0600), keys/update.pub
  kiln update --device 10.0.0.5:18080 --key keys/update.key fleet.yml`,
    )
    .action(async (opts: { out: string; json?: boolean }) => {
      const made = await generateKeys(path.resolve(io.cwd, opts.out));
      if (opts.json) return print(io.stdout, JSON.stringify(made, null, 2));
      print(io.stdout, `private key: ${path.relative(io.cwd, made.privateKey)} (keep it off the devices)`);
      print(io.stdout, `public key:  ${path.relative(io.cwd, made.publicKey)} (name it in the config: update.publicKey)`);
      print(io.stdout, `fingerprint: ${made.fingerprint}`);
    });
}
