import path from 'node:path';
import { Command } from 'commander';
import { generateKeys } from '../../update/keys.js';
import { generateSecureBootKeys, SECURE_BOOT_ROLES } from '../../image/secure-boot-keys.js';
import { KilnError } from '../../util/errors.js';
import { print, type CliIo } from '../io.js';

export function keysCommand(io: CliIo): Command {
  return new Command('keys')
    .description(
      'Make the Ed25519 key pair that signs firmware updates (update.key stays here, update.pub goes into the config), or with --secure-boot a Secure Boot key set',
    )
    .option('-o, --out <dir>', 'folder for the keys', 'keys')
    .option('--secure-boot', 'make a Secure Boot key set instead: PK, KEK and db (RSA-2048, X.509), their EFI signature lists and .auth files')
    .option('--name <name>', 'with --secure-boot: the name in the certificates\' subjects ("kiln db <name>"); default: the folder\'s name')
    .option('--json', 'print the paths (and the fingerprint or owner GUID) as JSON')
    .addHelpText(
      'after',
      `
A device built with \`update: { publicKey: keys/update.pub }\` installs only firmware signed with the matching
update.key (kiln update --key, kiln push --key). Keep update.key off the devices and out of version control;
an existing key is never overwritten — every device in the field trusts it.

--secure-boot writes PK, KEK and db, each as .key (0600), .pem and .der (the certificate, 10 years), .esl (EFI
signature list) and .auth (the signed variable that enrols it: PK.auth signed by PK, KEK.auth by PK, db.auth by
KEK), with one owner GUID in owner.guid. Builds sign with db (signing: in the config, or --sign-key/--sign-cert);
a firmware in Setup Mode enrols db.auth, KEK.auth, then PK.auth, which ends Setup Mode.

Examples:
  kiln keys --out keys                                 # keys/update.key (0600), keys/update.pub
  kiln update --device 10.0.0.5:18080 --key keys/update.key fleet.yml
  kiln keys --secure-boot --out sb --name fleet        # sb/{PK,KEK,db}.{key,pem,der,esl,auth}, sb/owner.guid
  kiln build fleet.yml --sign-key sb/db.key --sign-cert sb/db.pem`,
    )
    .action(async (opts: { out: string; secureBoot?: boolean; name?: string; json?: boolean }) => {
      const dir = path.resolve(io.cwd, opts.out);
      const rel = (file: string) => path.relative(io.cwd, file) || file;
      if (opts.name !== undefined && !opts.secureBoot) {
        throw new KilnError('KEYS_BAD_OPTION', '--name names a Secure Boot key set: add --secure-boot (the update key pair has no name)');
      }
      if (opts.secureBoot) {
        const set = await generateSecureBootKeys(dir, opts.name ?? path.basename(dir));
        if (opts.json) return print(io.stdout, JSON.stringify(set, null, 2));
        for (const role of SECURE_BOOT_ROLES) {
          const f = set[role];
          print(io.stdout, `${role.padEnd(4)} ${rel(f.key)} (keep it here), ${[f.cert, f.der, f.esl, f.auth].map(rel).join(', ')}`);
        }
        print(io.stdout, `owner GUID: ${set.ownerGuid} (${rel(set.ownerGuidFile)})`);
        print(io.stdout, `sign builds: --sign-key ${rel(set.db.key)} --sign-cert ${rel(set.db.cert)}, or signing: in the config`);
        return;
      }
      const made = await generateKeys(dir);
      if (opts.json) return print(io.stdout, JSON.stringify(made, null, 2));
      print(io.stdout, `private key: ${rel(made.privateKey)} (keep it off the devices)`);
      print(io.stdout, `public key:  ${rel(made.publicKey)} (name it in the config: update.publicKey)`);
      print(io.stdout, `fingerprint: ${made.fingerprint}`);
    });
}
