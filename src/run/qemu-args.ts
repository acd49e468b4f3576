/**
 * QEMU's command line for one run, built from resolved parts. Pure: no file system, no environment.
 *
 * The guest's serial console is QEMU's stdio (`-chardev stdio` → `-serial chardev:console`), so every byte the guest
 * prints passes through kiln, which matches it and echoes it. No display, no default devices (`-nodefaults`), and
 * `-no-reboot`: a guest reboot ends QEMU instead of looping, which is what makes a panic with `panic=-1` observable.
 */
import type { ArchSpec, TcgThreads } from './arch.js';
import type { DataDrive } from './options.js';
import { hostfwd, type PortForward } from './forward.js';

export interface AccelChoice {
  accel: 'kvm' | 'tcg';
  /** `host` under KVM; `max` (every feature TCG can emulate) under TCG. */
  cpu: string;
}

export interface QemuConfig {
  spec: ArchSpec;
  memory: string;
  cpus: number;
  accel: AccelChoice;
  /** Overrides the architecture's TCG threading (ignored under KVM). */
  tcgThreads?: TcgThreads;
  firmware: { code: string; vars: string };
  /** The ESP disk image; omitted by the KVM probe, which only needs the firmware to start. */
  espDisk?: string;
  extraDrives?: readonly DataDrive[];
  /** Unix socket path for QMP (QEMU listens, kiln connects). */
  qmpSocket?: string;
  /** A virtio-net NIC on QEMU's user network, with these TCP forwards; omitted = no NIC. */
  network?: { forwards: readonly PortForward[] };
  /** An i6300esb watchdog on the PCI bus, for a device with a `watchdog` section; omitted = none (the KVM probe). */
  watchdog?: boolean;
  /** A guest reboot restarts the machine instead of ending QEMU. @default false (-no-reboot) */
  reboot?: boolean;
  /** The boot disk gets bootindex=0 (OVMF then rewrites BootOrder from QEMU's boot order). @default true */
  bootIndex?: boolean;
  /** Firmware that enforces Secure Boot (OVMF's secboot build): SMM on, and its variable flash reachable only from SMM. */
  secureBoot?: boolean;
}

/** QEMU's default MAC, written out so a config can match the guest's interface by it. */
export const GUEST_MAC = '52:54:00:12:34:56';

/** QEMU's option syntax splits on commas; a literal comma in a value is written twice. */
export function escapeOptionValue(value: string): string {
  return value.replaceAll(',', ',,');
}

export function buildQemuArgs(config: QemuConfig): string[] {
  const { spec, accel, firmware } = config;
  const args = [
    '-machine',
    // OVMF's secboot build is made with SMM_REQUIRE: without SMM it stops before its boot manager.
    config.secureBoot === true ? `${spec.machine},smm=on` : spec.machine,
    // ... and the variable flash answers only to SMM, so the guest cannot rewrite PK, KEK and db behind its back.
    ...(config.secureBoot === true ? ['-global', 'driver=cfi.pflash01,property=secure,value=on'] : []),
    '-accel',
    accel.accel === 'tcg' ? `tcg,thread=${config.tcgThreads ?? spec.tcgThreads}` : accel.accel,
    '-cpu',
    accel.accel === 'tcg' ? (spec.tcgCpu ?? accel.cpu) : accel.cpu,
    '-smp',
    String(config.cpus),
    '-m',
    config.memory,
    '-nodefaults',
    '-no-user-config',
    ...(config.reboot === true ? [] : ['-no-reboot']),
    '-display',
    'none',
    // signal=off: a ctrl-c byte on stdin belongs to the guest, never to QEMU.
    '-chardev',
    'stdio,id=console,signal=off',
    '-serial',
    'chardev:console',
    '-drive',
    `if=pflash,format=raw,unit=0,readonly=on,file=${escapeOptionValue(firmware.code)}`,
    '-drive',
    `if=pflash,format=raw,unit=1,file=${escapeOptionValue(firmware.vars)}`,
  ];
  if (config.qmpSocket !== undefined) {
    // wait=off: QEMU starts the guest without waiting for kiln to connect.
    args.push('-chardev', `socket,id=qmp,path=${escapeOptionValue(config.qmpSocket)},server=on,wait=off`);
    args.push('-mon', 'chardev=qmp,mode=control');
  }
  if (config.espDisk !== undefined) {
    args.push('-drive', `if=none,id=esp,format=raw,file=${escapeOptionValue(config.espDisk)}`);
    // bootindex: the firmware boots this disk first instead of its built-in shell.
    // Without it (a kept, updatable disk), the firmware's own BootOrder decides, as on hardware.
    args.push('-device', `virtio-blk-pci,drive=esp${config.bootIndex === false ? '' : ',bootindex=0'}`);
  }
  (config.extraDrives ?? []).forEach((drive, i) => {
    args.push('-drive', `if=none,id=data${i},format=${drive.format},file=${escapeOptionValue(drive.path)}`);
    args.push('-device', `virtio-blk-pci,drive=data${i}`);
  });
  if (config.network !== undefined) {
    // User networking (slirp): no host setup, no root; the guest gets 10.0.2.15 by DHCP, the host is 10.0.2.2.
    args.push('-netdev', ['user', 'id=net0', ...config.network.forwards.map((f) => `hostfwd=${hostfwd(f)}`)].join(','));
    // romfile= (empty): no iPXE option ROM, so the firmware neither loads it nor offers a network boot.
    args.push('-device', `virtio-net-pci,netdev=net0,mac=${GUEST_MAC},romfile=`);
  }
  if (config.watchdog === true) {
    // The Intel 6300ESB is a PCI device, so q35 and virt both take it. Unarmed (no driver opened it) it does nothing;
    // when it fires, QEMU's default action resets the machine, which -no-reboot turns into the outcome `reset`.
    args.push('-device', 'i6300esb');
  }
  return args;
}
