import { describe, expect, it } from 'vitest';
import { parseServer } from './servers.ts';

describe('parseServer', () => {
  it.each([
    ['pool.ntp.org', 'pool.ntp.org', 123],
    ['10.0.2.2:1123', '10.0.2.2', 1123],
    ['time.example:123', 'time.example', 123],
    ['fd00::123', 'fd00::123', 123],
    ['[fd00::123]:1123', 'fd00::123', 1123],
    ['[fd00::123]', 'fd00::123', 123],
  ])('%s', (text, host, port) => {
    expect(parseServer(text)).toEqual({ host, port, text });
  });
  it.each([
    ['time:0', 'time server "time:0": port "0" is not 1-65535'],
    ['time:ntp', 'time server "time:ntp": port "ntp" is not 1-65535'],
    [':123', 'time server ":123": no host'],
  ])('refuses %s', (text, message) => {
    expect(() => parseServer(text)).toThrow(new SyntaxError(message));
  });
});
