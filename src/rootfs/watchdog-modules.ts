/**
 * The kernel module a device with a `watchdog` section needs: Debian's kernel builds the watchdog drivers (and the
 * watchdog core they depend on) as modules, and the device has no modprobe to load one when the hardware shows up,
 * so the build ships the section's driver and the init loads it with the rest, before the watchdog stage opens it.
 */
import type { Config } from '../config/schema.js';

/** The modules to add to `kernel.modules` for the watchdog (none without one); dependencies come along. */
export function watchdogModules(config: Pick<Config, 'watchdog'>): string[] {
  return config.watchdog === undefined ? [] : [config.watchdog.module];
}
