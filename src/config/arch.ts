/**
 * The one table of what each architecture is called and needs, everywhere kiln meets it: Debian and npm names, the
 * EFI file and stub, the multiarch triplet and machine numbers, the serial console, OCI's name, the kernel's ARCH,
 * the cross compiler, and how QEMU boots it. Pure data: finding files is src/run/firmware.ts and qemu-binary.ts.
 */
import { REMOVABLE_MEDIA_FILE } from '../../device/contract/efi/removable-media.ts';

export const ARCHES = ['x86_64', 'aarch64'] as const;
export type Arch = (typeof ARCHES)[number];

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
  /** The `process.arch` on which this guest can use KVM. */
  kvmHostArch: NodeJS.Architecture;
  /** `-cpu` under TCG when not `max` (what accel.ts chooses). */
  tcgCpu?: string;
  /** TCG's threading: one host thread per vCPU (`multi`) or one for all (`single`); `kiln run --tcg-threads`. */
  tcgThreads: TcgThreads;
  /** `kiln run --secure-boot`: the firmware that enforces it, and a variable store per key state; absent = not offered. */
  secureBoot?: SecureBootFirmware;
}

export type SecureBootKeys = 'snakeoil' | 'setup';

export interface SecureBootFirmware {
  code: string;
  /**
   * `snakeoil`: Debian's test certificate (/usr/share/ovmf/PkKek-1-snakeoil.pem, its key beside it) enrolled as PK,
   * KEK and db; `setup`: no keys at all (Setup Mode: the firmware boots anything and lets the OS enrol keys).
   */
  vars: Readonly<Record<SecureBootKeys, string>>;
}

export interface ArchInfo {
  /** Debian architecture name. */
  deb: 'amd64' | 'arm64';
  /** npm/Node platform suffix. */
  npm: 'x64' | 'arm64';
  /** UEFI removable-media file name and stub. */
  efiName: 'BOOTX64.EFI' | 'BOOTAA64.EFI';
  stub: string;
  /** GNU multiarch triplet: where Debian puts shared libraries. */
  triplet: string;
  /** ELF e_machine and PE machine of the device. */
  elfMachine: number;
  peMachine: number;
  /** The first serial port's console device: the 16550 on PCs, the PL011 on arm (QEMU virt, most boards). */
  serialConsole: 'ttyS0' | 'ttyAMA0';
  /** OCI's (Go's GOARCH) name: image indexes select platforms by it. */
  goarch: 'amd64' | 'arm64';
  /** The kernel's `ARCH=` for make. */
  kernelArch: 'x86' | 'arm64';
  /** The GNU cross compiler for this architecture on another host, and its Debian package. */
  crossCompiler: { command: string; package: string };
  /** How `kiln run` boots a guest of this architecture (src/run). */
  qemu: ArchSpec;
}

export const ARCH_TABLE: Readonly<Record<Arch, ArchInfo>> = {
  x86_64: {
    deb: 'amd64',
    npm: 'x64',
    efiName: REMOVABLE_MEDIA_FILE.x86_64,
    stub: 'usr/lib/systemd/boot/efi/linuxx64.efi.stub',
    triplet: 'x86_64-linux-gnu',
    elfMachine: 62,
    peMachine: 0x8664,
    serialConsole: 'ttyS0',
    goarch: 'amd64',
    kernelArch: 'x86',
    crossCompiler: { command: 'x86_64-linux-gnu-gcc', package: 'gcc-x86-64-linux-gnu' },
    qemu: {
      arch: 'x86_64',
      qemuBinary: 'qemu-system-x86_64',
      qemuPackage: 'qemu-system-x86',
      machine: 'q35',
      firmware: [
        { code: '/usr/share/OVMF/OVMF_CODE_4M.fd', vars: '/usr/share/OVMF/OVMF_VARS_4M.fd' },
        { code: '/usr/share/OVMF/OVMF_CODE.fd', vars: '/usr/share/OVMF/OVMF_VARS.fd' },
      ],
      firmwarePackage: 'ovmf',
      kvmHostArch: 'x64',
      // Without PKU: V8 guards its JIT memory with protection keys when the CPU has them, and under QEMU 7.2's TCG
      // emulation of PKU Node crashed at start-up in 4 of 9 boots (SIGSEGV/SIGTRAP in JIT code); 0 of 9 without it.
      tcgCpu: 'max,-pku',
      // One host thread for all vCPUs. With multi-threaded TCG (QEMU 7.2's default for x86 on x86) Node crashed in
      // 3 of 60 starts of a stress program on a 2-vCPU guest (V8 "Check failed: it->second.Size() > offset", SIGSEGV),
      // and `-cpu qemu64` or `max` without AVX did no better (5 and 6 of 60); with thread=single 0 of 40. It costs
      // ~4 s of a ~30 s boot (ready at 20.0 s instead of 15.7 s uptime). bench/tcg-threads.mjs measures both.
      tcgThreads: 'single',
      // The secboot build keeps its variables behind SMM (qemu-args.ts), so the guest cannot rewrite its keys
      // directly; the plain OVMF_VARS_4M.fd fits it too and holds no keys.
      secureBoot: {
        code: '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd',
        vars: { snakeoil: '/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd', setup: '/usr/share/OVMF/OVMF_VARS_4M.fd' },
      },
    },
  },
  aarch64: {
    deb: 'arm64',
    npm: 'arm64',
    efiName: REMOVABLE_MEDIA_FILE.aarch64,
    stub: 'usr/lib/systemd/boot/efi/linuxaa64.efi.stub',
    triplet: 'aarch64-linux-gnu',
    elfMachine: 183,
    peMachine: 0xaa64,
    serialConsole: 'ttyAMA0',
    goarch: 'arm64',
    kernelArch: 'arm64',
    crossCompiler: { command: 'aarch64-linux-gnu-gcc', package: 'gcc-aarch64-linux-gnu' },
    qemu: {
      arch: 'aarch64',
      qemuBinary: 'qemu-system-aarch64',
      qemuPackage: 'qemu-system-arm',
      machine: 'virt',
      firmware: [{ code: '/usr/share/AAVMF/AAVMF_CODE.fd', vars: '/usr/share/AAVMF/AAVMF_VARS.fd' }],
      firmwarePackage: 'qemu-efi-aarch64',
      kvmHostArch: 'arm64',
      // Every feature of `max`, but pointer authentication with QEMU's cheap implementation-defined algorithm
      // instead of emulating QARMA: Node and glibc sign return addresses in every function.
      tcgCpu: 'max,pauth-impdef=on',
      // Single-threaded too: the same V8 crash ("Check failed: it->second.Size() > offset" in
      // ThreadIsolation::WriteProtectMemory, then "Attempted to kill init") was seen under multi-threaded TCG on
      // aarch64 as well (bench/layouts.mjs, twice in one afternoon of boots).
      tcgThreads: 'single',
    },
  },
};
