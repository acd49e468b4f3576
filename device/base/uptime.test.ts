import { describe, expect, it } from 'vitest';
import { formatConsole } from './log.ts';
import { parseUptimeMs, READY_LINE, readyMessage } from './uptime.ts';

describe('parseUptimeMs', () => {
  it('reads the first field of /proc/uptime in ms', () => {
    expect(parseUptimeMs('8.12 14.30\n')).toBe(8120);
    expect(parseUptimeMs('12345.67 1.00\n')).toBe(12345670);
  });
  it('rejects text that is not /proc/uptime', () => {
    expect(() => parseUptimeMs('')).toThrow('Cannot parse /proc/uptime: ""');
    expect(() => parseUptimeMs('abc 1')).toThrow(SyntaxError);
  });
});

describe('ready line', () => {
  it('reads "kiln: ready in <N> ms" on the console', () => {
    expect(formatConsole(readyMessage(8120.4))).toBe('kiln: ready in 8120 ms\n');
  });
  it('is found once in serial output with CR LF line ends', () => {
    const serial = '[    8.1] kiln: boot complete: kernel 1 ms\r\nkiln: ready in 8120 ms\r\nlogin\r\n';
    expect(READY_LINE.exec(serial)?.[1]).toBe('8120');
    expect(serial.match(new RegExp(READY_LINE.source, 'gm'))).toHaveLength(1);
  });
});
