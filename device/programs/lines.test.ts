import { describe, expect, it } from 'vitest';
import { LineSplitter } from './lines.ts';

describe('LineSplitter', () => {
  it('joins chunks that split a line, drops \\r, flushes the tail at the end', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l));
    s.push('one\ntw');
    s.push('o\r\nthr');
    expect(lines).toEqual(['one', 'two']);
    s.push('ee');
    s.end();
    expect(lines).toEqual(['one', 'two', 'three']);
    s.end();
    expect(lines).toHaveLength(3);
  });

  it('cuts a line that never ends at the maximum length', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l), 4);
    s.push('abcdefghij');
    expect(lines).toEqual(['abcd', 'efgh']);
    s.push('\n');
    expect(lines).toEqual(['abcd', 'efgh', 'ij']);
  });
});
