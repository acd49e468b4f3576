/**
 * The `watchdog` section of the primary config: the hardware watchdog the init arms at boot and pets from its event
 * loop (device/watchdog). The host ships and loads the driver module (src/rootfs/watchdog-modules.ts); the device
 * opens the device node. Erasable TypeScript only.
 */
import { z } from 'zod';

/**
 * QEMU's emulated watchdog: a PCI device, so it works on x86_64 (q35) and aarch64 (virt) alike, and `kiln run` gives
 * every guest one. Debian's kernels of both architectures build its driver as a module.
 */
export const DEFAULT_WATCHDOG_MODULE = 'i6300esb';

export const watchdogSchema = z
  .object({
    module: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, 'expected a kernel module name like "i6300esb"')
      .default(DEFAULT_WATCHDOG_MODULE)
      .describe(
        'Kernel module of the watchdog driver, shipped and loaded at boot with its dependencies. The default drives the watchdog QEMU emulates (`kiln run` adds one); on hardware name its own driver, e.g. iTCO_wdt (Intel chipsets), sp5100_tco (AMD), sp805_wdt (many Arm boards). softdog works everywhere but is a kernel timer: it catches a hung init, not a hung kernel. @default "i6300esb"',
      ),
    device: z
      .string()
      .regex(/^\/dev\/./, 'expected a device node like "/dev/watchdog"')
      .default('/dev/watchdog')
      .describe('The watchdog device the init opens. /dev/watchdog is the first watchdog the kernel registered; /dev/watchdog1 … the next ones.'),
    timeoutSeconds: z
      .number()
      .int()
      .min(5)
      .max(600)
      .default(30)
      .describe(
        'Seconds without a pet after which the hardware resets the machine; the init pets every third of it. Longer than the longest pause of the event loop you accept, short enough that a hung device comes back soon. @default 30',
      ),
  })
  .strict();

export type WatchdogConfig = z.output<typeof watchdogSchema>;
