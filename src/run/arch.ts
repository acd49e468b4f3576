/**
 * What running a guest of each architecture needs from the host: the QEMU binary and machine, the UEFI firmware
 * (code + a template of the variable store), the removable-media boot path, and the Debian packages that provide
 * them. Pure data: finding the files is firmware.ts / qemu-binary.ts.
 */

export type Arch = 'x86_64' | 'aarch64';

export type TcgThreads = 'single' | 'multi';

export interface FirmwarePair {
  /** Read-only firmware code, mapped as pflash unit 0. */
  code: string;
  /** Pristine variable store; every run boots a fresh copy of it (pflash unit 1). */
  vars: string;
}

export interface ArchSpec {
  arch: Arch;
  qemuBinary: string;
  qemuPackage: string;
  /** `-machine` value (the accelerator is passed separately with `-accel`). */
  machine: string;
  /** Code and vars must come from the same build and have the same size: candidates are pairs, best first. */
  firmware: readonly FirmwarePair[];
  firmwarePackage: string;
  /** Where UEFI looks for a boot loader on media without boot entries (UEFI 2.10 §3.5.1.1). */
  bootPath: string;
  /** The `process.arch` on which this guest can use KVM. */
  kvmHostArch: NodeJS.Architecture;
  /** `-cpu` under TCG when not `max` (what accel.ts chooses). */
  tcgCpu?: string;
  /** TCG's threading: one host thread per vCPU (`multi`) or one for all (`single`); `kiln run --tcg-threads`. */
  tcgThreads: TcgThreads;
}

export const ARCHES: Readonly<Record<Arch, ArchSpec>> = {
  x86_64: {
    arch: 'x86_64',
    qemuBinary: 'qemu-system-x86_64',
    qemuPackage: 'qemu-system-x86',
    machine: 'q35',
    firmware: [
      { code: '/usr/share/OVMF/OVMF_CODE_4M.fd', vars: '/usr/share/OVMF/OVMF_VARS_4M.fd' },
      { code: '/usr/share/OVMF/OVMF_CODE.fd', vars: '/usr/share/OVMF/OVMF_VARS.fd' },
    ],
    firmwarePackage: 'ovmf',
    bootPath: 'EFI/BOOT/BOOTX64.EFI',
    kvmHostArch: 'x64',
    // Without PKU: V8 guards its JIT memory with protection keys when the CPU has them, and under QEMU 7.2's TCG
    // emulation of PKU Node crashed at start-up in 4 of 9 boots (SIGSEGV/SIGTRAP in JIT code); 0 of 9 without it.
    tcgCpu: 'max,-pku',
    // One host thread for all vCPUs. With multi-threaded TCG (QEMU 7.2's default for x86 on x86) Node crashed in
    // 3 of 60 starts of a stress program on a 2-vCPU guest (V8 "Check failed: it->second.Size() > offset", SIGSEGV),
    // and `-cpu qemu64` or `max` without AVX did no better (5 and 6 of 60); with thread=single 0 of 40. It costs
    // ~4 s of a ~30 s boot (ready at 20.0 s instead of 15.7 s uptime). bench/tcg-threads.mjs measures both.
    tcgThreads: 'single',
  },
  aarch64: {
    arch: 'aarch64',
    qemuBinary: 'qemu-system-aarch64',
    qemuPackage: 'qemu-system-arm',
    machine: 'virt',
    firmware: [{ code: '/usr/share/AAVMF/AAVMF_CODE.fd', vars: '/usr/share/AAVMF/AAVMF_VARS.fd' }],
    firmwarePackage: 'qemu-efi-aarch64',
    bootPath: 'EFI/BOOT/BOOTAA64.EFI',
    kvmHostArch: 'arm64',
    // Every feature of `max`, but pointer authentication with QEMU's cheap implementation-defined algorithm
    // instead of emulating QARMA: Node and glibc sign return addresses in every function.
    tcgCpu: 'max,pauth-impdef=on',
    // Single-threaded too: the same V8 crash ("Check failed: it->second.Size() > offset" in
    // ThreadIsolation::WriteProtectMemory, then "Attempted to kill init") was seen under multi-threaded TCG on
    // aarch64 as well (bench/layouts.mjs, twice in one afternoon of boots).
    tcgThreads: 'single',
  },
};

export function archSpec(arch: Arch): ArchSpec {
  const spec = ARCHES[arch];
  if (!spec) throw new TypeError(`Unknown architecture "${String(arch)}" (expected x86_64 or aarch64)`);
  return spec;
}

/** The exact command that installs a Debian package, for error hints. */
export function aptInstallHint(pkg: string): string {
  const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
  return `Install it: ${sudo}apt-get install -y ${pkg}`;
}
