import { describe, expect, it } from 'vitest';
import { fakeFs, fakeLibc, statLine } from '../testing/fakes.ts';
import { createLog } from '../base/log.ts';
import { shutdown, SIGNAL_REQUESTS, type ShutdownDeps } from './shutdown.ts';

const mounted = ['/proc', '/sys', '/dev', '/dev/pts', '/run', '/tmp', '/sys/fs/cgroup'];
const reverseUnmounts = [...mounted].reverse().map((target) => `umount2 ${target} 0`);

/** A system where `stubborn` ignores SIGTERM and every other process exits at once on it. */
function setup(options: { stubborn?: boolean; unkillable?: boolean } = {}) {
  const fs = fakeFs({ '/proc/1/stat': statLine(1, 'node', 'S', 0), '/proc/2/stat': statLine(2, 'kthreadd', 'S', 0, 0x208040) });
  const libc = fakeLibc();
  const kill = libc.kill;
  libc.kill = (pid, signal) => {
    kill(pid, signal);
    fs.files.delete('/proc/50/stat');
    if (signal === 15 && options.stubborn === true) return;
    if (signal === 9 && options.unkillable === true) return;
    fs.files.delete('/proc/60/stat');
  };
  fs.files.set('/proc/50/stat', statLine(50, 'app', 'S', 1));
  fs.files.set('/proc/60/stat', statLine(60, 'stubborn', 'S', 1));
  let clock = 0;
  let console = '';
  const deps: ShutdownDeps = {
    libc,
    fs,
    log: createLog((text) => (console += text)),
    mounted,
    selfPid: 1,
    ownChild: () => false,
    now: () => clock,
    sleep: async (ms) => void (clock += ms),
  };
  return { libc, deps, console: () => console };
}

describe('shutdown', () => {
  it('stops everything, unmounts in reverse and powers off', async () => {
    const { libc, deps, console } = setup();
    await expect(shutdown({ reason: 'power button', action: 'poweroff' }, deps)).rejects.toThrow('reboot(2) returned for poweroff');
    expect(libc.calls).toEqual(['kill -1 15', 'sync', ...reverseUnmounts, 'sync', 'reboot 0x4321fedc']);
    expect(console()).toMatch(/^kiln: shutting down \(power button\)\nkiln: powering off \(shutdown took 0 ms\)\n$/);
  });
  it('runs the shutdown hooks of the stages (closing log files) after processes stopped, before the unmounts', async () => {
    const { libc, deps } = setup();
    deps.beforeUnmount = () => void libc.calls.push('hooks');
    await expect(shutdown({ reason: 'power button', action: 'poweroff' }, deps)).rejects.toThrow('reboot(2) returned');
    expect(libc.calls.slice(0, 4)).toEqual(['kill -1 15', 'hooks', 'sync', reverseUnmounts[0]]);
  });
  it('stops the supervised services first, and goes on when that fails', async () => {
    const { libc, deps, console } = setup();
    deps.stopServices = async () => void libc.calls.push('stop services');
    await expect(shutdown({ reason: 'power button', action: 'poweroff' }, deps)).rejects.toThrow('reboot(2) returned');
    expect(libc.calls.slice(0, 2)).toEqual(['stop services', 'kill -1 15']);
    const failing = setup();
    failing.deps.stopServices = async () => {
      throw new Error('boom');
    };
    await expect(shutdown({ reason: 'test', action: 'poweroff' }, failing.deps)).rejects.toThrow('reboot(2) returned');
    expect(failing.console()).toContain('kiln: stopping services failed: boom\n');
    expect(failing.libc.calls[0]).toBe('kill -1 15');
    expect(console()).not.toContain('failed');
  });
  it('sends SIGKILL to what outlives the grace period', async () => {
    const { libc, deps, console } = setup({ stubborn: true });
    await expect(shutdown(SIGNAL_REQUESTS.SIGINT!, deps)).rejects.toThrow('reboot(2) returned for reboot');
    expect(libc.calls).toEqual(['kill -1 15', 'kill -1 9', 'sync', ...reverseUnmounts, 'sync', 'reboot 0x1234567']);
    expect(console()).toContain('kiln: shutting down (ctrl-alt-del)\nkiln: still running after SIGTERM, sending SIGKILL: stubborn[60]\n');
    expect(console()).toContain('kiln: rebooting (shutdown took 3000 ms)\n');
  });
  it('gives up waiting after SIGKILL too: it never hangs', async () => {
    const { libc, deps, console } = setup({ stubborn: true, unkillable: true });
    await expect(shutdown(SIGNAL_REQUESTS.SIGUSR2!, deps)).rejects.toThrow('reboot(2) returned');
    expect(console()).toContain('kiln: still running after SIGKILL: stubborn[60]\n');
    expect(libc.calls.at(-1)).toBe('reboot 0x4321fedc');
  });
  it('reaps orphans while it waits', async () => {
    const { libc, deps } = setup({ stubborn: true });
    (deps.fs as ReturnType<typeof fakeFs>).files.set('/proc/70/stat', statLine(70, 'orphan', 'Z', 1));
    await expect(shutdown({ reason: 'test', action: 'poweroff' }, deps)).rejects.toThrow();
    expect(libc.calls).toContain('waitpid 70 1');
  });
  it('treats "no process to signal" as done', async () => {
    const { deps } = setup();
    const libc = fakeLibc({ 'kill -1 15': 'ESRCH' });
    const fs = fakeFs({ '/proc/1/stat': statLine(1, 'node', 'S', 0) });
    await expect(shutdown({ reason: 'test', action: 'poweroff' }, { ...deps, libc, fs })).rejects.toThrow('reboot(2) returned');
    expect(libc.calls).toEqual(['kill -1 15', 'sync', ...reverseUnmounts, 'sync', 'reboot 0x4321fedc']);
  });
});
