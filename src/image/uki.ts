/**
 * The Unified Kernel Image: systemd-stub with the kernel, initrd, command line and OS identity appended as PE
 * sections (UAPI group "Unified Kernel Image" specification; systemd's ukify is the reference writer).
 */
import {
  appendSections,
  decodePe,
  IMAGE_FILE_MACHINE_AMD64,
  IMAGE_FILE_MACHINE_ARM64,
  IMAGE_SCN_CNT_CODE,
  IMAGE_SCN_MEM_READ,
  IMAGE_SUBSYSTEM_EFI_APPLICATION,
  type AddedSection,
  type PeImage,
} from '../formats/pe/index.js';
import { DecodeError, KilnError } from '../util/errors.js';

export interface UkiParts {
  /** systemd-stub, e.g. `linuxx64.efi.stub` from Debian's systemd-boot-efi. Must be unsigned. */
  stub: Uint8Array;
  /** The kernel with its EFI stub (`vmlinuz`): a PE image of the stub's architecture. */
  linux: Uint8Array;
  /** The initramfs, already compressed. Empty: no `.initrd` section. */
  initrd: Uint8Array;
  /** Kernel command line, written verbatim (no NUL, like ukify). Empty: no `.cmdline` section. */
  cmdline: string;
  /** os-release(5) text. Empty: no `.osrel` section. */
  osrel: string;
  /** The kernel release, `uname -r`. Empty: no `.uname` section. */
  uname: string;
}

const ARCHITECTURES: Record<number, { name: string; stub: string }> = {
  [IMAGE_FILE_MACHINE_AMD64]: { name: 'x86_64', stub: 'linuxx64.efi.stub' },
  [IMAGE_FILE_MACHINE_ARM64]: { name: 'aarch64', stub: 'linuxaa64.efi.stub' },
};

/**
 * Builds a UKI the way ukify lays it out: the sections in the canonical order .osrel, .cmdline, .uname, .initrd,
 * then .linux last, its VirtualSize the kernel's own SizeOfImage (the memory it needs once loaded, which the stub
 * may hand to the firmware's loader as is). Empty optional parts are left out, as ukify does. Unlike ukify, no
 * `.sbat` is merged in: the stub keeps its own (only shim's revocation checks read it).
 *
 * @example
 * const efi = buildUki({ stub, linux, initrd, cmdline: 'console=ttyS0 panic=-1', osrel: 'ID=kiln\n', uname: '6.1.0-56-rt-amd64' });
 */
export function buildUki(parts: UkiParts): Uint8Array {
  const stub = decodePart(parts.stub, 'UKI_STUB_INVALID', 'The UKI stub is not a PE image');
  if (stub.subsystem !== IMAGE_SUBSYSTEM_EFI_APPLICATION) {
    throw new KilnError(
      'UKI_STUB_NOT_EFI',
      `The UKI stub is not an EFI application (PE Subsystem ${stub.subsystem}, expected ${IMAGE_SUBSYSTEM_EFI_APPLICATION})`,
    );
  }
  const arch = ARCHITECTURES[stub.machine];
  if (arch === undefined) {
    throw new KilnError('UKI_ARCH_UNSUPPORTED', `The UKI stub is for ${machineName(stub.machine)}; kiln builds for x86_64 (0x8664) and aarch64 (0xaa64)`);
  }
  if (stub.certificateTable.size !== 0 || stub.certificateTable.offset !== 0) {
    throw new KilnError(
      'UKI_STUB_SIGNED',
      `The UKI stub is signed (certificate table: ${stub.certificateTable.size} bytes); adding sections would break its signature`,
      {
        hint: `Use the unsigned ${arch.stub} from systemd-boot-efi; sign the finished UKI instead.`,
      },
    );
  }
  const kernel = decodePart(parts.linux, 'UKI_KERNEL_NOT_PE', 'The kernel is not a PE image with an EFI stub');
  if (kernel.machine !== stub.machine) {
    throw new KilnError('UKI_ARCH_MISMATCH', `The UKI stub is for ${machineName(stub.machine)} but the kernel is for ${machineName(kernel.machine)}`, {
      hint: `Use the stub and the kernel of one architecture (${ARCHITECTURES[kernel.machine]?.stub ?? 'a stub'} for this kernel).`,
    });
  }

  const utf8 = new TextEncoder();
  const optional: AddedSection[] = [
    { name: '.osrel', data: utf8.encode(parts.osrel) },
    { name: '.cmdline', data: utf8.encode(parts.cmdline) },
    { name: '.uname', data: utf8.encode(parts.uname) },
    { name: '.initrd', data: parts.initrd },
  ];
  return appendSections(parts.stub, [
    ...optional.filter((s) => s.data.length > 0),
    {
      name: '.linux',
      data: parts.linux,
      // SizeOfImage covers the kernel's own sections and BSS; max() only matters for a kernel whose file (say,
      // with a signature appended) is longer than that, and keeps all of it inside the loaded section.
      virtualSize: Math.max(kernel.sizeOfImage, parts.linux.length),
      // ukify marks .linux as code: stubs using the EFI handover protocol run the kernel in place.
      characteristics: IMAGE_SCN_CNT_CODE | IMAGE_SCN_MEM_READ,
    },
  ]);
}

function decodePart(bytes: Uint8Array, code: string, what: string): PeImage {
  try {
    return decodePe(bytes);
  } catch (e) {
    if (e instanceof DecodeError) throw new KilnError(code, `${what}: ${e.message}`, { cause: e });
    throw e;
  }
}

function machineName(machine: number): string {
  const hex = `0x${machine.toString(16).padStart(4, '0')}`;
  const arch = ARCHITECTURES[machine];
  return arch === undefined ? `machine ${hex}` : `${arch.name} (machine ${hex})`;
}
