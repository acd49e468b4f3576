import { describe, expect, it } from 'vitest';
import { checkForwards, hostfwd, parseForward } from './forward.js';

describe('parseForward', () => {
  it("HOSTPORT:GUESTPORT listens on the host's loopback only", () => {
    expect(parseForward('8080:80')).toEqual({ hostAddress: '127.0.0.1', hostPort: 8080, guestPort: 80 });
  });
  it('HOSTADDR:HOSTPORT:GUESTPORT chooses the host address', () => {
    expect(parseForward('0.0.0.0:2222:22')).toEqual({ hostAddress: '0.0.0.0', hostPort: 2222, guestPort: 22 });
  });
  it.each([
    ['8080', '--forward 8080: expected HOSTPORT:GUESTPORT or HOSTADDR:HOSTPORT:GUESTPORT'],
    ['a:b:c:d', '--forward a:b:c:d: expected HOSTPORT:GUESTPORT or HOSTADDR:HOSTPORT:GUESTPORT'],
    ['0:80', '--forward 0:80: host port "0" is not 1-65535'],
    ['8080:65536', '--forward 8080:65536: guest port "65536" is not 1-65535'],
    ['8080:http', '--forward 8080:http: guest port "http" is not 1-65535'],
    ['localhost:8080:80', '--forward localhost:8080:80: host address "localhost" is not an IPv4 address'],
  ])('rejects %s', (text, message) => {
    expect(() => parseForward(text)).toThrow(message);
  });
});

describe('hostfwd', () => {
  it("is QEMU's tcp:HOSTADDR:HOSTPORT-:GUESTPORT", () => {
    expect(hostfwd(parseForward('18080:8080'))).toBe('tcp:127.0.0.1:18080-:8080');
  });
});

describe('checkForwards', () => {
  it('refuses one host port twice, also across 0.0.0.0', () => {
    expect(() => checkForwards([parseForward('8080:80'), parseForward('8081:80')])).not.toThrow();
    expect(() => checkForwards([parseForward('8080:80'), parseForward('8080:81')])).toThrow('--forward: host port 8080 is forwarded twice');
    expect(() => checkForwards([parseForward('8080:80'), parseForward('0.0.0.0:8080:81')])).toThrow('host port 8080 is forwarded twice');
    expect(() => checkForwards([parseForward('0.0.0.0:8080:80'), parseForward('8080:81')])).toThrow('host port 8080 is forwarded twice');
  });
});
