/**
 * What running a guest of each architecture needs from the host: its part of the one architecture table
 * (src/config/arch.ts, `qemu`), and the hint that installs a missing package.
 */
import { ARCH_TABLE, type Arch, type ArchSpec } from '../config/arch.js';

export type { Arch, ArchSpec, FirmwarePair, SecureBootKeys, TcgThreads } from '../config/arch.js';

export function archSpec(arch: Arch): ArchSpec {
  const spec = ARCH_TABLE[arch]?.qemu;
  if (!spec) throw new TypeError(`Unknown architecture "${String(arch)}" (expected x86_64 or aarch64)`);
  return spec;
}

/** The exact command that installs a Debian package, for error hints. */
export function aptInstallHint(pkg: string): string {
  const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
  return `Install it: ${sudo}apt-get install -y ${pkg}`;
}
