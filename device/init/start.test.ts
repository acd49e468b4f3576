import { afterEach, describe, expect, it } from 'vitest';
import { fakeFs, fakeLibc } from '../testing/fakes.ts';
import { fakeClock, fakeNetSys } from '../testing/fake-net.ts';
import { BootStageError } from './boot.ts';
import { createLog } from '../base/log.ts';
import { startInit, STAGES, type InitHandle } from './start.ts';

const dir = '/lib/modules/6.1.0-56-rt-amd64/kernel';
const bootJson = {
  name: 'demo',
  hostname: 'demo-1',
  kilnVersion: '0.1.0',
  buildId: 'b1',
  arch: 'x86_64',
  modules: [
    { name: 'button', path: `${dir}/drivers/acpi/button.ko` },
    { name: 'evdev', path: `${dir}/drivers/input/evdev.ko` },
  ],
};

function setup(cmdline = 'console=ttyS0,115200 panic=-1\n') {
  const fs = fakeFs({
    '/proc/cmdline': cmdline,
    '/proc/uptime': '8.12 10.00\n',
    '/proc/sys/kernel/printk': '7\t4\t1\t7\n',
    '/proc/1/stat': '1 (node) S 0 1 1 0 -1 4194560 0 0 0 0\n',
    '/etc/kiln/boot.json': JSON.stringify(bootJson),
    [`${dir}/drivers/acpi/button.ko`]: 'ELF',
    [`${dir}/drivers/input/evdev.ko`]: 'ELF',
    '/sys/class/input/event0/device/name': 'AT Translated Set 2 keyboard\n',
    '/sys/class/input/event1/device/name': 'Power Button\n',
    '/sys/class/input/input1/name': 'Power Button\n',
    '/sys/class/net/lo/ifindex': '1\n',
    '/sys/class/net/lo/address': '00:00:00:00:00:00\n',
  });
  const libc = fakeLibc({}, fs.open);
  let console = '';
  let clock = 1000;
  const signals = new Map<string, () => void>();
  const watched: { paths: readonly string[]; onPress: (path: string) => void }[] = [];
  const fatal: unknown[] = [];
  const deferred: (() => void)[] = [];
  const deps = {
    libc,
    fs,
    net: fakeNetSys(),
    apiSocket: `/tmp/kiln-start-test-${process.pid}-${Math.random().toString(16).slice(2)}/api.sock`,
    clock: fakeClock(),
    log: createLog((text) => (console += text)),
    now: () => (clock += 2),
    startedAt: 900,
    selfPid: 1,
    sleep: async () => {},
    onSignal: (signal: string, handler: () => void) => void signals.set(signal, handler),
    watchPowerButtons: (paths: readonly string[], onPress: (path: string) => void) => void watched.push({ paths, onPress }),
    ownChild: () => false,
    fatal: (error: unknown) => void fatal.push(error),
    defer: (fn: () => void) => void deferred.push(fn),
  };
  return { fs, libc, deps, signals, watched, fatal, deferred, console: () => console };
}

let handle: InitHandle | undefined;
afterEach(() => handle?.reaper.stop());

describe('startInit', () => {
  it('boots in order: mounts, ctrl-alt-del off, modules, hostname', async () => {
    const { libc, deps } = setup();
    handle = await startInit(deps);
    expect(libc.calls).toEqual([
      'mount proc /proc proc 0xe -',
      'mount sysfs /sys sysfs 0xe -',
      'mount devtmpfs /dev devtmpfs 0x2 mode=0755',
      'mount devpts /dev/pts devpts 0xa gid=5,mode=0620,ptmxmode=0666',
      'mount tmpfs /run tmpfs 0x6 mode=0755',
      'mount tmpfs /tmp tmpfs 0x6 mode=1777',
      'mount cgroup2 /sys/fs/cgroup cgroup2 0xe nsdelegate',
      'reboot 0x0',
      `finit_module ${dir}/drivers/acpi/button.ko '' 0`,
      `finit_module ${dir}/drivers/input/evdev.ko '' 0`,
      'sethostname demo-1',
    ]);
    expect(handle.readyUptimeMs).toBe(8120);
    expect(handle.config.name).toBe('demo');
  });

  it('logs every stage and prints the ready line exactly once, on the console only', async () => {
    const { fs, deps, console } = setup();
    handle = await startInit(deps);
    const lines = console().split('\n');
    expect(lines.filter((line) => /^kiln: ready in \d+ ms$/.test(line))).toEqual(['kiln: ready in 8120 ms']);
    for (const stage of STAGES) expect(lines.some((line) => line.startsWith(`kiln: ${stage}: `))).toBe(true);
    expect(lines).toContain('kiln: modules: 2 loaded (2 ms)');
    expect(fs.written.get('/proc/sys/kernel/printk_devkmsg')).toEqual(['on\n']);
    expect(fs.written.get('/proc/sys/kernel/printk')).toEqual(['6\n']);
    const kmsg = fs.written.get('/dev/kmsg') ?? [];
    expect(kmsg[0]).toBe('<6>kiln: mounts: /proc /sys /dev /dev/pts /run /tmp /sys/fs/cgroup (2 ms)');
    expect(kmsg).toContain('<6>kiln: hostname: demo-1 (2 ms)');
    expect(kmsg.some((record) => record.includes('ready in'))).toBe(false);
  });

  it('reports a failed module by name and still boots', async () => {
    const { fs, deps, console } = setup();
    fs.files.delete(`${dir}/drivers/acpi/button.ko`);
    handle = await startInit(deps);
    expect(console()).toContain(`kiln: module button failed: ENOENT: no such file or directory, open '${dir}/drivers/acpi/button.ko'\n`);
    expect(console()).toContain('kiln: modules: 1 loaded, 1 failed (button)');
    expect(console()).toContain('kiln: ready in 8120 ms\n');
  });

  it('boots without a power button, with a warning', async () => {
    const { fs, deps, console, watched } = setup();
    fs.files.delete('/sys/class/input/event1/device/name');
    handle = await startInit(deps);
    expect(watched).toEqual([]);
    expect(console()).toContain('kiln: power-button failed (2 ms): no input device named "Power Button"');
  });

  it('powers off on the power button', async () => {
    const { libc, deps, watched, fatal, console } = setup();
    handle = await startInit(deps);
    expect(watched.map((watch) => watch.paths)).toEqual([['/dev/input/event1']]);
    libc.calls.length = 0;
    watched[0]!.onPress('/dev/input/event1');
    await new Promise((resolve) => setImmediate(resolve));
    expect(console()).toContain('kiln: shutting down (power button)\n');
    expect(libc.calls[0]).toBe('kill -1 15');
    expect(libc.calls.at(-1)).toBe('reboot 0x4321fedc');
    // The fake reboot returns; a real one does not. Either way the failure would reach the crash path.
    expect(String(fatal[0])).toContain('reboot(2) returned for poweroff');
  });

  it('reboots on ctrl-alt-del (SIGINT) and ignores a second request', async () => {
    const { libc, deps, signals, console } = setup();
    handle = await startInit(deps);
    expect([...signals.keys()]).toEqual(['SIGINT', 'SIGTERM', 'SIGUSR2', 'SIGHUP']); // SIGHUP: the secondary config's reload
    signals.get('SIGINT')!();
    signals.get('SIGTERM')!();
    await new Promise((resolve) => setImmediate(resolve));
    expect(console()).toContain('kiln: shutting down (ctrl-alt-del)\n');
    expect(console()).toContain('kiln: shutdown already in progress, ignoring SIGTERM\n');
    expect(libc.calls.filter((call) => call.startsWith('reboot 0x1234567'))).toHaveLength(1);
  });

  it('crashes at the stage kiln.crash= names, before the later stages run', async () => {
    const { libc, deps, console } = setup('panic=-1 kiln.crash=config');
    const error = await startInit(deps).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BootStageError);
    expect((error as BootStageError).stage).toBe('config');
    expect(libc.calls.some((call) => call.startsWith('finit_module'))).toBe(false);
    expect(console()).not.toContain('ready in');
  });

  it('kiln.crash=ready throws outside the boot chain, after the ready line', async () => {
    const { deps, deferred, console } = setup('kiln.crash=ready');
    handle = await startInit(deps);
    expect(console()).toContain('kiln: ready in 8120 ms\n');
    expect(deferred).toHaveLength(1);
    expect(() => deferred[0]!()).toThrow('kiln.crash=ready on the kernel command line');
  });

  it('warns about a kiln.crash= value that names no stage', async () => {
    const { deps, console } = setup('kiln.crash=mount');
    handle = await startInit(deps);
    expect(console()).toContain(
      'kiln: kiln.crash=mount names no stage; known: mounts, kmsg, ctrl-alt-del, config, modules, watchdog, storage, secondary, logs, update, sysctl, hostname, network, time, status, programs, containers, api, power-button, reaper, ready\n',
    );
  });

  it('kiln.hang=ready blocks the event loop from a timer, after the ready line', async () => {
    const { deps, deferred, console } = setup('kiln.hang=ready');
    handle = await startInit(deps);
    expect(console()).toContain('kiln: ready in 8120 ms\n');
    expect(console()).not.toContain('kiln.hang'); // said by the timer, which this test never runs: it would spin for good
    expect(deferred).toHaveLength(1);
  });

  it('warns about a kiln.hang= value that names no stage', async () => {
    const { deps, deferred, console } = setup('kiln.hang=watchdgo');
    handle = await startInit(deps);
    expect(console()).toMatch(/kiln: kiln\.hang=watchdgo names no stage; known: .*watchdog.*, ready\n/);
    expect(deferred).toEqual([]);
  });

  it('stops the boot when a required mount fails', async () => {
    const { deps } = setup();
    deps.libc = fakeLibc({ 'mount proc /proc proc 0xe -': 'EPERM' });
    await expect(startInit(deps)).rejects.toThrow('boot stage mounts failed: mount(/proc): Operation not permitted (EPERM)');
  });
});
