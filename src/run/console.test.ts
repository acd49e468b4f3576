import { describe, expect, test } from 'vitest';
import { ConsoleWatcher, EscapeStripper } from './console.js';

describe('EscapeStripper', () => {
  test('removes CSI, OSC, charset escapes and CRs', () => {
    const s = new EscapeStripper();
    expect(s.push('\x1b[2J\x1b[01;01H\x1b[=3hHello\r\n\x1b[1m\x1b[33m\x1b[40mShell> \x1b[0m\x1b]0;title\x07\x1b(Bok')).toBe('Hello\nShell> ok');
  });

  test('an escape cut between chunks is held back, not leaked', () => {
    const s = new EscapeStripper();
    expect(s.push('abc\x1b[1')).toBe('abc');
    expect(s.push(';33mdef')).toBe('def');
    expect(s.push('x\x1b')).toBe('x');
    expect(s.push('[0my')).toBe('y');
  });
});

describe('ConsoleWatcher', () => {
  test('matches a regex split across chunks', () => {
    const w = new ConsoleWatcher(/kiln: ready in \d+ ms/);
    expect(w.push('boot...\nkiln: rea').matched).toBe(false);
    expect(w.push('dy in 12').matched).toBe(false);
    expect(w.push('3 ms\n').matched).toBe(true);
    expect(w.matched).toBe(true);
  });

  test('matches across escapes and a UTF-8 character split between byte chunks', () => {
    const w = new ConsoleWatcher(/Grüße>/);
    const bytes = new TextEncoder().encode('\x1b[1mGrüße\x1b[0m>');
    const insideU = 7; // ESC [ 1 m G r = 6 bytes, then ü is C3 BC
    expect(bytes[insideU - 1]).toBe(0xc3);
    expect(w.push(bytes.slice(0, insideU)).matched).toBe(false);
    expect(w.push(bytes.slice(insideU, insideU + 4)).matched).toBe(false);
    expect(w.push(bytes.slice(insideU + 4)).matched).toBe(true);
  });

  test('reports a match once', () => {
    const w = new ConsoleWatcher(/ok/g);
    expect(w.push('ok').matched).toBe(true);
    expect(w.push('ok').matched).toBe(false);
  });

  test("a global regex's lastIndex (left over from the caller's own use) does not hide a match", () => {
    const re = /done/g;
    re.lastIndex = 100;
    const w = new ConsoleWatcher(re);
    expect(w.push('done').matched).toBe(true);
    expect(re.lastIndex).toBe(100); // the caller's RegExp is not touched
    expect(new ConsoleWatcher(/done/y).push('xx done').matched).toBe(true); // sticky would pin it to offset 0
  });

  test('no expect: never matches, still watches', () => {
    const w = new ConsoleWatcher();
    expect(w.push('reboot: Power down\n')).toEqual({ matched: false, events: ['poweroff'] });
  });

  test('markers split across chunks are found once', () => {
    const w = new ConsoleWatcher();
    expect(w.push('[ 9.1] Kernel pan').events).toEqual([]);
    expect(w.push('ic - not syncing: Attempted to kill init!\n').events).toEqual(['panic']);
    expect(w.push('more text\n').events).toEqual([]);
    expect(w.events).toEqual(['panic']);
  });

  test('a marker at the very end of a chunk is not reported again by the next chunk', () => {
    const w = new ConsoleWatcher();
    expect(w.push('reboot: Power down').events).toEqual(['poweroff']);
    expect(w.push('\r\n').events).toEqual([]);
    expect(w.events).toEqual(['poweroff']);
  });

  test('a text window bounds memory but keeps the tail', () => {
    const w = new ConsoleWatcher(undefined, { windowChars: 100, tailChars: 10 });
    for (let i = 0; i < 50; i++) w.push(`line ${i}\n`);
    expect(w.tail()).toBe('8\nline 49\n');
  });
});

describe('verdict (outcome from the console)', () => {
  const verdict = (...chunks: string[]) => {
    const w = new ConsoleWatcher();
    for (const c of chunks) w.push(c);
    return w.verdict();
  };

  test('power-off', () => expect(verdict('[ 3.2] reboot: Power down\r\n')).toBe('poweroff'));
  test('reset', () => expect(verdict('[ 3.2] reboot: Restarting system\r\n')).toBe('reset'));
  test('panic outweighs the reset panic=-1 causes', () =>
    expect(verdict('Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100\n', 'reboot: Restarting system\n')).toBe('panic'));
  test('the last of power-off and reset wins', () => expect(verdict('reboot: Restarting system\n', 'reboot: Power down\n')).toBe('poweroff'));
  test('nothing', () => expect(verdict('BdsDxe: loading Boot0001\n')).toBeUndefined());
});
