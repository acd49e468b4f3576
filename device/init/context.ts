/**
 * What a boot stage after `config` gets: the system (libc, files), the log, the image's boot.json, and the
 * device settings in effect — the primary config's, replaced by the secondary stage with primary ⊕ secondary.
 */
import type { HostFs } from '../sys/host-fs.ts';
import type { Libc } from '../sys/libc.ts';
import type { BootConfig, DeviceSettings } from './boot-config.ts';
import type { Log } from './log.ts';

export interface StageContext {
  libc: Libc;
  fs: HostFs;
  log: Log;
  config: BootConfig;
  /** The settings in effect now (primary ⊕ secondary once the secondary stage ran). */
  settings(): DeviceSettings;
  setSettings(settings: DeviceSettings): void;
  /** Mount points in mount order: stages that mount push here so shutdown unmounts them. */
  mounted: string[];
  /** The kernel command line. */
  cmdline: string;
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Subscribe to a process signal (process.on), e.g. SIGHUP for a config reload. */
  onSignal(signal: string, handler: () => void): void;
}
