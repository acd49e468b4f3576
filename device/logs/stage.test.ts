import { describe, expect, it } from 'vitest';
import { fakeDataFs } from '../testing/fake-data-fs.ts';
import { settingsContext } from '../testing/settings-context.ts';
import { logsStage } from './stage.ts';

const logs = { path: '/data/log', maxBytes: 1 << 20, keep: 3 };

function setup(sections = {}) {
  const env = settingsContext({ logs, ...sections }, { '/proc/sys/kernel/random/boot_id': '5c0f-1\n' });
  const data = fakeDataFs();
  const deps = { data, openKmsg: () => ({ read: () => undefined, close() {} }), every: () => () => {} };
  return { ...env, data, run: () => logsStage({ ...env.ctx, data }, deps) };
}

describe('logs stage', () => {
  it('sets the level from the settings; without logs.path persists nothing', async () => {
    const env = setup({ logs: undefined, log: { level: 'debug' } });
    expect(await env.run()).toBe('level debug; not persisted (no logs.path in the config)');
    expect(env.ctx.log.level()).toBe('debug');
  });

  it('opens both files with the boot marker and closes them at shutdown', async () => {
    const env = setup();
    expect(await env.run()).toBe('level info; /data/log/init.log and kernel.log (rotated at 1 MiB, 3 kept)');
    expect(env.data.files.get('/data/log/kernel.log')).toBe('-- kiln boot 5c0f-1: gw, build b1, kiln 0.1.0 --\n');
    expect(env.shutdownHooks).toHaveLength(1);
    env.shutdownHooks[0]!();
  });

  it('a folder in RAM (its partition not mounted): says which partition, persists nothing', async () => {
    const env = setup({ logs: { ...logs, path: '/var/log/kiln' } });
    expect(await env.run()).toBe('level info; not persisted');
    expect(env.console()).toBe('kiln: logs: /var/log/kiln: it is in RAM: no partition is mounted above it; not persisting logs\n');
    expect(env.data.files.size).toBe(0);
  });

  it('a read-only partition: one warning, the boot goes on', async () => {
    const env = setup();
    env.data.fail('write', '/data', 'EROFS');
    expect(await env.run()).toBe('level info; not persisted');
    expect(env.console()).toBe(
      "kiln: logs: cannot write /data/log: EROFS: read-only file system, mkdir '/data/log'; not persisting logs (the console log goes on)\n",
    );
  });
});
