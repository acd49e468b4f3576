/**
 * What a boot stage after `config` gets: the system (libc, files), the log, the image's boot.json, and the
 * device settings in effect — the primary config's, replaced by the secondary stage with primary ⊕ secondary.
 */
import type { HostFs } from '../sys/host-fs.ts';
import type { Libc } from '../sys/libc.ts';
import type { NetSys } from '../sys/net.ts';
import type { Clock } from '../sys/clock.ts';
import type { DataFs } from '../sys/data-fs.ts';
import type { Sched } from '../sys/sched.ts';
import type { BootConfig, DeviceSettings } from '../contract/boot-config.ts';
import type { Log } from './log.ts';

export interface StageContext {
  libc: Libc;
  fs: HostFs;
  /** rtnetlink and interface-bound UDP sockets (device/net). */
  net: NetSys;
  /** CLOCK_REALTIME (device/time). */
  clock: Clock;
  /** Files on the writable partitions: fsync, rename, append (secondary config, logs, container logs). */
  data: DataFs;
  /** Scheduling policy and CPU affinity of processes (real-time containers). */
  sched: Sched;
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
  /** Run `hook` at shutdown once processes have stopped, before filesystems are unmounted (e.g. close log files). */
  onShutdown(hook: () => void): void;
}
