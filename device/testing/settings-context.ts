/**
 * A boot context for the stages that work on the settings (secondary, logs, sysctl): fakes for libc and the files,
 * a log captured as console text, and the signal handlers and shutdown hooks the stage registered.
 */
import { parseBootConfig, primarySettings, type BootConfig, type DeviceSettings } from '../contract/boot-config.ts';
import type { StageContext } from '../base/context.ts';
import { createLog } from '../base/log.ts';
import { fakeFs, fakeLibc } from './fakes.ts';

export type SettingsContext = Pick<StageContext, 'libc' | 'fs' | 'log' | 'config' | 'settings' | 'setSettings' | 'onSignal' | 'onShutdown'>;

export function settingsContext(sections: Partial<BootConfig> = {}, files: Record<string, string> = {}) {
  const config: BootConfig = {
    ...parseBootConfig(JSON.stringify({ name: 'gw', hostname: 'gw', kilnVersion: '0.1.0', buildId: 'b1', arch: 'x86_64', modules: [] })),
    ...sections,
  };
  const fs = fakeFs({
    '/proc/self/mounts': 'rootfs / rootfs rw 0 0\nproc /proc proc rw 0 0\ntmpfs /run tmpfs rw,nosuid,nodev 0 0\n/dev/vda2 /data ext4 rw,relatime 0 0\n',
    ...files,
  });
  const libc = fakeLibc();
  let console = '';
  let settings: DeviceSettings = primarySettings(config);
  const signals = new Map<string, () => void>();
  const shutdownHooks: (() => void)[] = [];
  const ctx: SettingsContext = {
    libc,
    fs,
    log: createLog(
      (text) => (console += text),
      () => 8.5,
    ),
    config,
    settings: () => settings,
    setSettings: (next) => void (settings = next),
    onSignal: (signal, handler) => void signals.set(signal, handler),
    onShutdown: (hook) => void shutdownHooks.push(hook),
  };
  return {
    ctx,
    fs,
    libc,
    signals,
    shutdownHooks,
    console: () => console,
    clearConsole: () => void (console = ''),
  };
}
