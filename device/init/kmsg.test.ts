import { describe, expect, it } from 'vitest';
import { fakeFs } from '../testing/fakes.ts';
import { attachKernelLog, consoleLoglevelToSet } from './kmsg.ts';
import { createLog } from '../base/log.ts';

describe('consoleLoglevelToSet', () => {
  it('lowers the default level 7 to 6 so kiln lines are not echoed twice', () => {
    expect(consoleLoglevelToSet('7\t4\t1\t7\n', ['console=ttyS0', 'panic=-1'])).toBe(6);
  });
  it('never raises it', () => {
    expect(consoleLoglevelToSet('4\t4\t1\t7\n', [])).toBeUndefined();
    expect(consoleLoglevelToSet('6\t4\t1\t7\n', [])).toBeUndefined();
  });
  it('leaves a level chosen on the command line', () => {
    for (const word of ['loglevel=8', 'debug', 'quiet', 'ignore_loglevel']) {
      expect(consoleLoglevelToSet('7\t4\t1\t7\n', ['panic=-1', word])).toBeUndefined();
    }
  });
  it('leaves unreadable text alone', () => {
    expect(consoleLoglevelToSet('', [])).toBeUndefined();
  });
});

describe('attachKernelLog', () => {
  it('lifts the rate limit, lowers the console level and replays the log into /dev/kmsg', () => {
    const fs = fakeFs({ '/proc/sys/kernel/printk': '7\t4\t1\t7\n' });
    let console = '';
    const log = createLog((text) => (console += text));
    log.info('mounts: /proc (1 ms)');
    expect(attachKernelLog(fs, log, [])).toBe('/dev/kmsg, console loglevel 6');
    expect(fs.written.get('/proc/sys/kernel/printk_devkmsg')).toEqual(['on\n']);
    expect(fs.written.get('/proc/sys/kernel/printk')).toEqual(['6\n']);
    expect(fs.written.get('/dev/kmsg')).toEqual(['<6>kiln: mounts: /proc (1 ms)']);
  });
  it('keeps the level when the command line says loglevel=', () => {
    const fs = fakeFs({ '/proc/sys/kernel/printk': '7\t4\t1\t7\n' });
    expect(
      attachKernelLog(
        fs,
        createLog(() => {}),
        ['loglevel=7'],
      ),
    ).toBe('/dev/kmsg');
    expect(fs.written.has('/proc/sys/kernel/printk')).toBe(false);
  });
});
