import { describe, expect, it } from 'vitest';
import { createLog, formatConsole, formatKmsg } from './log.ts';

describe('log formats', () => {
  it('prefixes every console line', () => {
    expect(formatConsole('a\nb')).toBe('kiln: a\nkiln: b\n');
  });
  it('makes one kmsg record per line with its priority', () => {
    expect(formatKmsg('info', 'mounts: /proc (3 ms)')).toEqual(['<6>kiln: mounts: /proc (3 ms)']);
    expect(formatKmsg('error', 'x\ny')).toEqual(['<3>kiln: x', '<3>kiln: y']);
    expect(formatKmsg('warn', 'w')).toEqual(['<4>kiln: w']);
  });
  it('cuts records the kernel would reject', () => {
    expect(formatKmsg('info', 'x'.repeat(5000))[0]).toHaveLength('<6>kiln: '.length + 900);
  });
});

describe('createLog', () => {
  it('replays lines logged before /dev/kmsg was attached', () => {
    let console = '';
    const records: string[] = [];
    const log = createLog((text) => (console += text));
    log.info('early');
    log.consoleOnly('ready in 5 ms');
    log.attachKmsg((record) => records.push(record));
    log.warn('late');
    expect(console).toBe('kiln: early\nkiln: ready in 5 ms\nkiln: late\n');
    expect(records).toEqual(['<6>kiln: early', '<4>kiln: late']);
  });
  it('falls back to the console alone when /dev/kmsg fails', () => {
    let console = '';
    const log = createLog((text) => (console += text));
    log.attachKmsg(() => {
      throw new Error('EINVAL');
    });
    log.info('one');
    log.info('two');
    expect(console).toBe('kiln: one\nkiln: kernel log write failed, console only from now: Error: EINVAL\nkiln: two\n');
  });
  it('survives a console that throws', () => {
    const log = createLog(() => {
      throw new Error('EIO');
    });
    expect(() => log.error('x')).not.toThrow();
  });
});

describe('log level and file sink', () => {
  it('drops lines below the level everywhere but keeps console-only lines', () => {
    let console = '';
    const records: string[] = [];
    const entries: string[] = [];
    const log = createLog(
      (text) => (console += text),
      () => 1,
    );
    log.attachKmsg((record) => records.push(record));
    log.attachFile((entry) => entries.push(`${entry.level} ${entry.message}`));
    log.debug('hidden at info');
    log.setLevel('debug');
    log.debug('shown');
    log.setLevel('warn');
    log.info('hidden at warn');
    log.warn('w');
    log.consoleOnly('ready in 5 ms');
    expect(console).toBe('kiln: shown\nkiln: w\nkiln: ready in 5 ms\n');
    expect(records).toEqual(['<7>kiln: shown', '<4>kiln: w']);
    expect(entries).toEqual(['debug shown', 'warn w']);
  });

  it('replays to the file what was logged since boot, with the time it was logged', () => {
    let clock = 1.5;
    const log = createLog(
      () => {},
      () => clock,
    );
    log.info('early');
    clock = 9;
    const entries: unknown[] = [];
    log.attachFile((entry) => entries.push(entry));
    log.error('late');
    log.detachFile();
    log.info('after shutdown');
    expect(entries).toEqual([
      { level: 'info', message: 'early', uptime: 1.5 },
      { level: 'error', message: 'late', uptime: 9 },
    ]);
  });

  it('stops writing to a file sink that throws, saying so on the console', () => {
    let console = '';
    const log = createLog((text) => (console += text));
    log.attachFile(() => {
      throw new Error('ENOSPC');
    });
    log.info('one');
    log.info('two');
    expect(console).toBe('kiln: one\nkiln: log file write failed, not persisting the log from now: Error: ENOSPC\nkiln: two\n');
  });
});
