import { describe, expect, it } from 'vitest';
import { fakeDataFs } from '../testing/fake-data-fs.ts';
import { openRotatingFile } from './rotating-file.ts';

const FILE = '/data/log/init.log';

describe('rotating log file', () => {
  it('appends to what earlier boots wrote', () => {
    const data = fakeDataFs({ [FILE]: 'boot 1\n' });
    const file = openRotatingFile(data, FILE, { maxBytes: 100, keep: 2 });
    file.write('boot 2\n');
    expect(data.files.get(FILE)).toBe('boot 1\nboot 2\n');
  });

  it('rotates before a write would pass the cap: fsync, shift, rename, fsync the folder', () => {
    const data = fakeDataFs({ [FILE]: '' });
    const file = openRotatingFile(data, FILE, { maxBytes: 10, keep: 2 });
    file.write('12345\n');
    file.write('abcd\n'); // 11 bytes would pass 10
    expect(data.files.get(FILE)).toBe('abcd\n');
    expect(data.files.get(`${FILE}.1`)).toBe('12345\n');
    expect(data.events).toEqual([`fsync ${FILE}`, `rename ${FILE} ${FILE}.1`, 'fsync-dir /data/log']);
  });

  it('keeps `keep` rotated files, deleting the oldest', () => {
    const data = fakeDataFs({ [FILE]: '' });
    const file = openRotatingFile(data, FILE, { maxBytes: 4, keep: 2 });
    for (const line of ['1\n', '2\n', '3\n', '4\n', '5\n', '6\n', '7\n', '8\n']) file.write(line);
    expect([...data.files.keys()].sort()).toEqual([FILE, `${FILE}.1`, `${FILE}.2`]);
    expect([data.files.get(`${FILE}.2`), data.files.get(`${FILE}.1`), data.files.get(FILE)]).toEqual(['3\n4\n', '5\n6\n', '7\n8\n']);
  });

  it('writes a line longer than the cap alone in a fresh file', () => {
    const data = fakeDataFs({ [FILE]: 'x\n' });
    const file = openRotatingFile(data, FILE, { maxBytes: 4, keep: 1 });
    file.write('0123456789\n');
    expect(data.files.get(FILE)).toBe('0123456789\n');
    expect(data.files.get(`${FILE}.1`)).toBe('x\n');
  });

  it('fsyncs only when written, and at close', () => {
    const data = fakeDataFs({ [FILE]: '' });
    const file = openRotatingFile(data, FILE, { maxBytes: 100, keep: 1 });
    file.sync();
    file.write('a\n');
    file.sync();
    file.sync();
    file.write('b\n');
    file.close();
    expect(data.events).toEqual([`fsync ${FILE}`, `fsync ${FILE}`]);
    expect(() => file.write('c\n')).toThrow('closed');
  });
});
