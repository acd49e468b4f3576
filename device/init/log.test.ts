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
