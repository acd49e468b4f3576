import { describe, expect, test } from 'vitest';
import { EscapeKeys } from './escape-keys.js';

const keys = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('EscapeKeys', () => {
  test('ordinary keys, ctrl-c included, go to the guest', () => {
    expect(new EscapeKeys().push(keys('ls\x03\r'))).toEqual({ forward: keys('ls\x03\r'), quit: false });
  });
  test('ctrl-a x quits and drops what follows', () => {
    const r = new EscapeKeys().push(keys('ab\x01xcd'));
    expect(text(r.forward)).toBe('ab');
    expect(r.quit).toBe(true);
  });
  test('ctrl-a x split across reads', () => {
    const e = new EscapeKeys();
    expect(e.push(keys('a\x01'))).toEqual({ forward: keys('a'), quit: false });
    expect(e.push(keys('x')).quit).toBe(true);
  });
  test('ctrl-a ctrl-a sends one ctrl-a; ctrl-a + another key sends both', () => {
    expect(text(new EscapeKeys().push(keys('\x01\x01z')).forward)).toBe('\x01z');
    expect(text(new EscapeKeys().push(keys('\x01c')).forward)).toBe('\x01c');
  });
});
