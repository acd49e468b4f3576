import { describe, expect, it } from 'vitest';
import { fakeFs } from '../testing/fakes.ts';
import { settingsContext } from '../testing/settings-context.ts';
import { applySysctl, summarizeSysctl, sysctlPath, sysctlStage, sysctlText } from './sysctl.ts';

/** /proc/sys as the kernel shows it: writing a file that does not exist fails, a read-only one refuses. */
function procSys(files: Record<string, string>, readOnly: string[] = []) {
  const fs = fakeFs(files);
  fs.writeText = (path, text) => {
    if (!fs.files.has(path)) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' });
    if (readOnly.includes(path)) throw Object.assign(new Error(`EACCES: permission denied, open '${path}'`), { code: 'EACCES' });
    if (path.endsWith('swappiness') && !/^\d+\n$/.test(text)) throw Object.assign(new Error('EINVAL: invalid argument, write'), { code: 'EINVAL' });
    fs.files.set(path, path.endsWith('printk') ? `${text.trim()}\t4\t1\t7\n` : text);
  };
  return fs;
}

describe('sysctl', () => {
  it('maps dotted names to /proc/sys paths', () => {
    expect(sysctlPath('net.ipv4.ip_forward')).toBe('/proc/sys/net/ipv4/ip_forward');
    expect(sysctlPath('net.ipv4.conf.eth0-lan.rp_filter')).toBe('/proc/sys/net/ipv4/conf/eth0-lan/rp_filter');
    expect(sysctlPath('kernel.printk')).toBe('/proc/sys/kernel/printk');
  });

  it('writes booleans as 1/0 and numbers as text', () => {
    expect([sysctlText(true), sysctlText(false), sysctlText(10), sysctlText('4 4 1 7')]).toEqual(['1', '0', '10', '4 4 1 7']);
  });

  it('writes each setting, reads it back, and names each failure', () => {
    const fs = procSys({ '/proc/sys/vm/swappiness': '60\n', '/proc/sys/kernel/printk': '7\t4\t1\t7\n', '/proc/sys/kernel/osrelease': '6.1\n' }, [
      '/proc/sys/kernel/osrelease',
    ]);
    const outcomes = applySysctl(fs, {
      'vm.swappiness': 10,
      'kernel.printk': 4,
      'net.ipv4.ip_fowrard': true,
      'kernel.osrelease': 'x',
    });
    expect(outcomes).toEqual([
      { name: 'vm.swappiness', value: '10' },
      { name: 'kernel.printk', value: '4 4 1 7' },
      { name: 'net.ipv4.ip_fowrard', error: 'no such setting' },
      { name: 'kernel.osrelease', error: 'read-only setting' },
    ]);
    expect(fs.files.get('/proc/sys/vm/swappiness')).toBe('10\n');
    expect(applySysctl(fs, { 'vm.swappiness': 'lots' })).toEqual([{ name: 'vm.swappiness', error: 'the kernel rejected the value "lots"' }]);
  });

  it('summarizes', () => {
    expect(summarizeSysctl([])).toBe('none set');
    expect(
      summarizeSysctl([
        { name: 'a.b', value: '1' },
        { name: 'c.d', error: 'no such setting' },
      ]),
    ).toBe('1 set: a.b=1; 1 failed: c.d');
    expect(summarizeSysctl([{ name: 'c.d', error: 'x' }])).toBe('0 set; 1 failed: c.d');
  });

  it('the stage logs each failure by name and returns the summary', async () => {
    const { ctx, console } = settingsContext({ sysctl: { 'vm.swappiness': 10, 'net.ipv4.ip_fowrard': 1 } });
    Object.assign(ctx, { fs: procSys({ '/proc/sys/vm/swappiness': '60\n' }) });
    expect(await sysctlStage(ctx)).toBe('1 set: vm.swappiness=10; 1 failed: net.ipv4.ip_fowrard');
    expect(console()).toBe('kiln: sysctl: net.ipv4.ip_fowrard: no such setting\n');
  });

  it('logs each value read back at debug level', async () => {
    const { ctx, console } = settingsContext({ sysctl: { 'vm.swappiness': 10 }, log: { level: 'debug' } });
    Object.assign(ctx, { fs: procSys({ '/proc/sys/vm/swappiness': '60\n' }) });
    ctx.log.setLevel('debug');
    await sysctlStage(ctx);
    expect(console()).toBe('kiln: sysctl: vm.swappiness = 10 (/proc/sys/vm/swappiness)\n');
  });
});
