/**
 * Why QEMU exited on its own (kiln did not stop it), from three witnesses, most trusted first:
 *  1. a panic on the console or from QMP — it outweighs the reset that `panic=-1` triggers right after;
 *  2. QMP's SHUTDOWN event, which names the cause at the machine level (ACPI power-off, reset with -no-reboot);
 *  3. the kernel's last words on the console ("reboot: Power down"), for when QMP was not connected in time;
 * and finally QEMU's exit status. Pure.
 */
import type { ConsoleEvent } from './console.js';

export type GuestEnding = 'panic' | 'poweroff' | 'reset' | 'qemu-failed';

export interface QemuExit {
  /** The console watcher's verdict. */
  console: ConsoleEvent | undefined;
  /** `reason` of QMP's SHUTDOWN event (QAPI ShutdownCause), when one arrived. */
  shutdownReason: string | undefined;
  /** QMP sent GUEST_PANICKED (a pvpanic device). */
  guestPanicked: boolean;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export function classifyQemuExit(exit: QemuExit): GuestEnding {
  if (exit.console === 'panic' || exit.guestPanicked || exit.shutdownReason === 'guest-panic') return 'panic';
  if (exit.shutdownReason === 'guest-shutdown') return 'poweroff';
  if (exit.shutdownReason === 'guest-reset') return 'reset';
  // Any other cause (host-signal, host-error, host-qmp-quit, ...) means something outside the guest ended QEMU.
  if (exit.shutdownReason !== undefined) return 'qemu-failed';
  if (exit.console === 'poweroff' || exit.console === 'reset') return exit.console;
  // No witness, yet a clean exit: with -no-reboot QEMU exits 0 only when the guest powers off or resets; the
  // firmware's ResetSystem(EfiResetShutdown) prints nothing, and a power-off is the likelier of the two.
  if (exit.code === 0) return 'poweroff';
  return 'qemu-failed';
}
