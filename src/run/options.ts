/**
 * `runImage` options as the caller writes them (`RunOptions`, everything optional that has a default) and as the
 * engine uses them (`ResolvedRunOptions`, defaults filled in and values checked).
 */
import { KilnError } from '../util/errors.js';
import type { Arch, SecureBootKeys, TcgThreads } from './arch.js';
import { checkForwards, type PortForward } from './forward.js';
import { secureBootUnsupported } from './secure-boot.js';

export type AccelMode = 'auto' | 'kvm' | 'tcg';

export interface DataDrive {
  path: string;
  format: 'raw' | 'qcow2';
}

export interface RunOptions {
  /** Path of the UEFI executable to boot (a UKI); it becomes `EFI/BOOT/BOOTX64.EFI` on a fresh ESP disk. */
  efi?: string;
  /**
   * A whole GPT disk image to boot instead (the firmware finds EFI/BOOT/BOOTX64.EFI on its own ESP). Used in place:
   * the guest writes to it, so callers pass a copy unless they mean to keep the state (kiln run --keep-disk).
   */
  disk?: string;
  /** @default 'x86_64' */
  arch?: Arch;
  /** Guest RAM in QEMU's notation (`512M`, `1G`). @default '1G' */
  memory?: string;
  /** @default 2 */
  cpus?: number;
  /** Seconds before the run is stopped with outcome `timeout`; undefined = no limit. */
  timeout?: number;
  /** The run succeeds as soon as the serial console matches (ANSI escapes and CRs removed before matching). */
  expect?: RegExp;
  /** `auto` tries KVM once per QEMU version and kernel release and falls back to TCG. @default 'auto' */
  accel?: AccelMode;
  /** TCG's threading; default per architecture (arch.ts says why x86_64 runs single-threaded). */
  tcgThreads?: TcgThreads;
  /** Keys for the guest's serial console; null = none. */
  stdin?: NodeJS.ReadableStream | null;
  /** Receives the guest's serial console, byte for byte. */
  stdout: NodeJS.WritableStream;
  /** Receives kiln's own notes and QEMU's messages. */
  stderr: NodeJS.WritableStream;
  /** stdin is a TTY: put it in raw mode and pass every key to the guest; ctrl-a x quits, ctrl-a ctrl-a sends ctrl-a. */
  interactive?: boolean;
  /** Extra virtio-blk disks, in order after the ESP. */
  extraDrives?: DataDrive[];
  /** Keep the UEFI variable store in this file across runs (created from the firmware's template on first use). @default a fresh copy per run */
  keepVars?: string;
  /** A virtio-net NIC on QEMU's user network (guest 10.0.2.15 by its DHCP, host reachable as 10.0.2.2). @default true */
  network?: boolean;
  /** Host TCP ports forwarded to the guest (needs `network`). */
  forwards?: PortForward[];
  /** A guest reboot restarts the machine, as hardware does, instead of ending the run (no -no-reboot). @default false */
  reboot?: boolean;
  /** Give the boot disk QEMU's bootindex, so OVMF rewrites BootOrder from it (and prunes other entries). @default true */
  bootIndex?: boolean;
  /** Boot under firmware that enforces Secure Boot, with these keys enrolled (secure-boot.ts); x86_64 only. @default off */
  secureBoot?: SecureBootKeys;
}

export type RunOutcome = 'matched' | 'poweroff' | 'reset' | 'panic' | 'timeout' | 'qemu-failed' | 'stopped';

export interface RunResult {
  outcome: RunOutcome;
  exitCode: number;
  /** The last few KiB of console text (ANSI escapes removed), for error messages. */
  consoleTail: string;
}

export interface ResolvedRunOptions {
  /** Exactly one of efi and disk is set. */
  efi: string | undefined;
  disk: string | undefined;
  keepVars: string | undefined;
  arch: Arch;
  memory: string;
  cpus: number;
  timeoutMs: number | undefined;
  expect: RegExp | undefined;
  accel: AccelMode;
  tcgThreads: TcgThreads | undefined;
  stdin: NodeJS.ReadableStream | null;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  interactive: boolean;
  extraDrives: DataDrive[];
  network: boolean;
  forwards: PortForward[];
  reboot: boolean;
  bootIndex: boolean;
  secureBoot: SecureBootKeys | undefined;
}

const MEMORY = /^[1-9]\d*[KMGT]?$/i;

export function resolveRunOptions(options: RunOptions): ResolvedRunOptions {
  const memory = options.memory ?? '1G';
  if (!MEMORY.test(memory)) {
    throw new KilnError('RUN_BAD_OPTION', `memory: "${memory}" is not a size`, { hint: 'Write it like QEMU does: 512M, 1G, 2G.' });
  }
  const cpus = options.cpus ?? 2;
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > 256) {
    throw new KilnError('RUN_BAD_OPTION', `cpus: ${cpus} is not a CPU count (1–256)`);
  }
  const timeout = options.timeout;
  if (timeout !== undefined && !(Number.isFinite(timeout) && timeout > 0)) {
    throw new KilnError('RUN_BAD_OPTION', `timeout: ${timeout} is not a number of seconds above 0`);
  }
  const accel = options.accel ?? 'auto';
  if (!['auto', 'kvm', 'tcg'].includes(accel)) {
    throw new KilnError('RUN_BAD_OPTION', `accel: "${accel}" is not one of auto, kvm, tcg`);
  }
  if (options.tcgThreads !== undefined && !['single', 'multi'].includes(options.tcgThreads)) {
    throw new KilnError('RUN_BAD_OPTION', `tcg-threads: "${options.tcgThreads}" is not one of single, multi`);
  }
  const network = options.network ?? true;
  const forwards = options.forwards ?? [];
  if (!network && forwards.length > 0) {
    throw new KilnError('RUN_BAD_OPTION', 'forwards need the network: --forward cannot go with --no-network');
  }
  checkForwards(forwards);
  const arch = options.arch ?? 'x86_64';
  if (options.secureBoot !== undefined && arch !== 'x86_64') throw secureBootUnsupported(arch);
  if ((options.efi === undefined) === (options.disk === undefined)) {
    throw new KilnError('RUN_BAD_OPTION', 'give exactly one thing to boot: an EFI executable (efi) or a disk image (disk)');
  }
  return {
    efi: options.efi,
    disk: options.disk,
    arch,
    memory,
    cpus,
    timeoutMs: timeout === undefined ? undefined : Math.round(timeout * 1000),
    expect: options.expect,
    accel,
    tcgThreads: options.tcgThreads,
    stdin: options.stdin ?? null,
    stdout: options.stdout,
    stderr: options.stderr,
    interactive: options.interactive ?? false,
    extraDrives: options.extraDrives ?? [],
    keepVars: options.keepVars,
    network,
    forwards,
    reboot: options.reboot ?? false,
    bootIndex: options.bootIndex ?? true,
    secureBoot: options.secureBoot,
  };
}
