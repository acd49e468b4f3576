import { describe, expect, it } from 'vitest';
import { parseChallenge, tokenUrl } from './www-authenticate.ts';

describe('parseChallenge', () => {
  it('reads a distribution Bearer challenge', () => {
    const c = parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"');
    expect(c).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' },
    });
  });
  it('handles tokens, spaces, escapes and case', () => {
    expect(parseChallenge('basic Realm = "a \\"b\\"" , charset=UTF-8')).toEqual({ scheme: 'basic', params: { realm: 'a "b"', charset: 'UTF-8' } });
    expect(parseChallenge('')).toBeUndefined();
  });
  it('builds the token URL, keeping the realm query and adding a scope when none was given', () => {
    const c = parseChallenge('Bearer realm="https://ghcr.io/token?x=1",service="ghcr.io"')!;
    expect(tokenUrl(c, 'repository:a/b:pull').toString()).toBe('https://ghcr.io/token?x=1&service=ghcr.io&scope=repository%3Aa%2Fb%3Apull');
  });
});
