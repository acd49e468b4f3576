import { describe, expect, it } from 'vitest';
import { fakeDataFs } from '../testing/fake-data-fs.ts';
import { settingsContext } from '../testing/settings-context.ts';
import { secondaryStage } from './secondary-stage.ts';

const PATH = '/data/kiln/secondary.yml';
const network = { interfaces: [{ name: 'eth0', dhcp: true, addresses: [], routes: [] }], dns: [] };

function setup(files: Record<string, string> = {}, path = PATH) {
  const data = fakeDataFs(files);
  const env = settingsContext(
    {
      hostname: 'gw',
      network,
      sysctl: { 'vm.swappiness': 60 },
      storage: {
        waitSeconds: 10,
        partitions: [{ label: 'DATA', filesystem: 'ext4', size: 'rest', esp: false, mount: '/data', options: [], required: true, fsck: false }],
      },
      secondary: { path, default: { hostname: 'gw-default' } },
    },
    { '/proc/sys/vm/swappiness': '60\n', '/proc/sys/kernel/hostname': 'gw\n' },
  );
  return { data, ...env, run: () => secondaryStage({ ...env.ctx, data }) };
}

describe('secondary stage', () => {
  it('without a secondary config: nothing to read, SIGHUP says so', async () => {
    const env = settingsContext();
    expect(await secondaryStage({ ...env.ctx, data: fakeDataFs() })).toBe('none (no secondary.path in the config)');
    env.signals.get('SIGHUP')!();
    expect(env.console()).toBe('kiln: reload: this firmware has no secondary config (secondary.path): nothing to reload\n');
  });

  it('first boot: writes the default and puts primary ⊕ default in effect', async () => {
    const { data, ctx, run } = setup();
    expect(await run()).toBe(`${PATH}: first boot, wrote the default; sets hostname`);
    expect(data.files.get(PATH)).toContain('hostname: gw-default\n');
    expect(ctx.settings()).toEqual({ hostname: 'gw-default', network, sysctl: { 'vm.swappiness': 60 } });
  });

  it('a valid file: its settings in effect', async () => {
    const { ctx, run } = setup({ [PATH]: 'hostname: gw-7\nsysctl:\n  vm.swappiness: 10\n' });
    expect(await run()).toBe(`${PATH}: sets hostname, sysctl`);
    expect(ctx.settings()).toEqual({ hostname: 'gw-7', network, sysctl: { 'vm.swappiness': 10 } });
  });

  it('an invalid file: the last known good copy, and the stage line says so', async () => {
    const { ctx, run, console } = setup({ [PATH]: 'hostname: 7_\n', [`${PATH}.last-good`]: 'hostname: gw-6\n' });
    expect(await run()).toBe(`${PATH}: invalid, using the last known good copy; sets hostname`);
    expect(ctx.settings().hostname).toBe('gw-6');
    expect(console()).toContain(`kiln: secondary: ${PATH}:1:11: hostname: expected a hostname`);
  });

  it('its partition not mounted: the default, naming the partition', async () => {
    const { ctx, run, console } = setup({}, '/srv/kiln/secondary.yml');
    ctx.config.storage!.partitions[0]!.mount = '/srv';
    expect(await run()).toBe('/srv/kiln/secondary.yml: using the default from the firmware; sets hostname');
    expect(console()).toBe('kiln: secondary: /srv/kiln/secondary.yml: partition DATA is not mounted at /srv; using the default from the firmware\n');
  });
});

describe('SIGHUP reload', () => {
  async function booted() {
    const env = setup({ [PATH]: 'hostname: gw-7\nsysctl:\n  vm.swappiness: 10\n' });
    await env.run();
    env.libc.calls.length = 0;
    env.clearConsole();
    return env;
  }

  it('applies the hostname, changed sysctl settings and the log level live', async () => {
    const { data, ctx, libc, fs, signals, console } = await booted();
    data.files.set(PATH, 'hostname: gw-8\nsysctl:\n  vm.swappiness: 20\nlog:\n  level: warn\n');
    signals.get('SIGHUP')!();
    expect(libc.calls).toEqual(['sethostname gw-8']);
    expect(fs.written.get('/proc/sys/vm/swappiness')).toEqual(['20\n']);
    expect(ctx.log.level()).toBe('warn');
    expect(ctx.settings()).toMatchObject({ hostname: 'gw-8', sysctl: { 'vm.swappiness': 20 }, log: { level: 'warn' } });
    // The summary is info, below the new level: the reload's own line obeys it too.
    expect(console()).toBe('');
    expect(data.files.get(`${PATH}.last-good`)).toBe(data.files.get(PATH));
  });

  it('says what needs a reboot, and keeps the running network in the settings', async () => {
    const { data, ctx, signals, console } = await booted();
    data.files.set(
      PATH,
      'hostname: gw-7\nsysctl:\n  vm.swappiness: 10\nnetwork:\n  interfaces:\n    - name: eth1\n      dhcp: true\ntime:\n  servers: [ntp.example]\n',
    );
    signals.get('SIGHUP')!();
    expect(console()).toBe(
      'kiln: reload: network changed: needs a reboot\n' +
        'kiln: reload: time changed: needs a reboot\n' +
        `kiln: reload: ${PATH}: nothing to apply live; needs a reboot: network, time\n`,
    );
    expect(ctx.settings().network).toEqual(network);
    expect(ctx.settings().time).toBeUndefined();
  });

  it('an invalid edit changes nothing', async () => {
    const { data, ctx, libc, signals, console } = await booted();
    data.files.set(PATH, 'hostname: gw-9\nkernel: {}\n');
    const before = ctx.settings();
    signals.get('SIGHUP')!();
    expect(libc.calls).toEqual([]);
    expect(ctx.settings()).toBe(before);
    expect(data.files.get(`${PATH}.last-good`)).toBe('hostname: gw-7\nsysctl:\n  vm.swappiness: 10\n');
    expect(console()).toBe(
      `kiln: reload: ${PATH}:2:1: kernel: "kernel" may only be set in the primary config (the secondary may set: hostname, network, time, sysctl, log, api, containers, registries, update)\n` +
        'kiln: reload: nothing changed; the settings in effect stay\n',
    );
  });

  it('a sysctl setting an edit drops goes back to the primary value, or keeps its own until a reboot', async () => {
    const { data, signals, console } = await booted();
    data.files.set(PATH, 'hostname: gw-7\nsysctl:\n  vm.swappiness: 10\n  vm.overcommit_memory: 1\n');
    signals.get('SIGHUP')!();
    data.files.set(PATH, 'hostname: gw-7\n');
    signals.get('SIGHUP')!();
    expect(console()).toBe(
      `kiln: reload: ${PATH}: applied sysctl 1 set: vm.overcommit_memory=1\n` +
        'kiln: reload: sysctl vm.overcommit_memory removed: it keeps its value until a reboot\n' +
        `kiln: reload: ${PATH}: applied sysctl 1 set: vm.swappiness=60\n`,
    );
  });
});

describe('log level from the secondary', () => {
  it('applies at once, so the stages after it log by it', async () => {
    const { ctx, run, console } = setup({ [PATH]: 'hostname: gw-7\nlog:\n  level: debug\n' });
    await run();
    expect(ctx.log.level()).toBe('debug');
    expect(console()).toContain('kiln: secondary: settings in effect: {"hostname":"gw-7",');
  });
});
