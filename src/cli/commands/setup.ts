import os from 'node:os';
import { access } from 'node:fs/promises';
import { Command } from 'commander';
import { exec } from '../../util/exec.js';
import { ARCH_TABLE, type Arch } from '../../config/arch.js';
import { KilnError } from '../../util/errors.js';
import { print, type CliIo } from '../io.js';

/** Debian packages kiln needs on the host, and a file or command that shows each is present. */
export const HOST_PACKAGES: readonly { pkg: string; check: string; why: string }[] = [
  { pkg: 'apt', check: '/usr/bin/apt-get', why: 'downloads Debian inputs' },
  { pkg: 'dpkg', check: '/usr/bin/dpkg-deb', why: 'unpacks .deb inputs' },
  { pkg: 'xz-utils', check: '/usr/bin/xz', why: 'release compression' },
  { pkg: 'zstd', check: '/usr/bin/zstd', why: 'fast compression' },
  { pkg: 'qemu-system-x86', check: '/usr/bin/qemu-system-x86_64', why: 'kiln run (x86_64)' },
  { pkg: 'ovmf', check: '/usr/share/OVMF/OVMF_CODE_4M.fd', why: 'UEFI firmware for kiln run' },
  { pkg: 'qemu-system-arm', check: '/usr/bin/qemu-system-aarch64', why: 'kiln run (aarch64)' },
  { pkg: 'qemu-efi-aarch64', check: '/usr/share/AAVMF/AAVMF_CODE.fd', why: 'UEFI firmware for kiln run (aarch64)' },
  { pkg: 'e2fsprogs', check: '/usr/sbin/mkfs.ext4', why: 'ext4 partitions for kiln disk' },
  // Secure Boot: osslsigncode signs the UKIs reproducibly (-time), openssl makes and checks the keys and
  // certificates, efitools writes a key set's ESLs and .auth files.
  { pkg: 'openssl', check: '/usr/bin/openssl', why: 'Secure Boot keys and certificates' },
  { pkg: 'osslsigncode', check: '/usr/bin/osslsigncode', why: 'Secure Boot signing (kiln build with signing)' },
  { pkg: 'efitools', check: '/usr/bin/sign-efi-sig-list', why: 'Secure Boot key sets (kiln keys --secure-boot)' },
  // layout: source compiles its first stage (device/first-stage) for each architecture: the native cc and a cross one.
  { pkg: 'gcc', check: '/usr/bin/cc', why: 'the first stage of layout: source (native)' },
  crossFirstStageCompiler(os.arch() === 'arm64' ? 'x86_64' : 'aarch64'),
];

function crossFirstStageCompiler(arch: Arch): { pkg: string; check: string; why: string } {
  const { command, package: pkg } = ARCH_TABLE[arch].crossCompiler;
  return { pkg, check: `/usr/bin/${command}`, why: `the first stage of layout: source (${arch})` };
}

async function missingPackages(): Promise<string[]> {
  const missing: string[] = [];
  for (const p of HOST_PACKAGES) await access(p.check).catch(() => missing.push(p.pkg));
  return missing;
}

export function setupCommand(io: CliIo): Command {
  return new Command('setup')
    .description('Install the Debian host packages kiln needs (as root), or print the command to run')
    .option('--check', 'only report what is missing (exit 1 if anything is)')
    .addHelpText('after', `\nPackages: ${HOST_PACKAGES.map((p) => `${p.pkg} (${p.why})`).join(', ')}`)
    .action(async (opts: { check?: boolean }) => {
      const missing = await missingPackages();
      if (missing.length === 0) {
        print(io.stdout, 'kiln: host packages present');
        return;
      }
      const command = `apt-get update && apt-get install -y ${missing.join(' ')}`;
      if (opts.check || process.getuid?.() !== 0) {
        throw new KilnError('HOST_PACKAGES', `missing host packages: ${missing.join(', ')}`, { hint: `Run: sudo sh -c '${command}'` });
      }
      print(io.stderr, `kiln: installing ${missing.join(' ')}`);
      for (const args of [
        ['update', '-q'],
        ['install', '-y', '-q', ...missing],
      ]) {
        const r = await exec('apt-get', args, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
        if (r.code !== 0) throw new KilnError('HOST_PACKAGES', `apt-get ${args[0]} failed: ${r.stderr.trim().split('\n').pop()}`);
      }
      print(io.stdout, 'kiln: host packages installed');
    });
}
