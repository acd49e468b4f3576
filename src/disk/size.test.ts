import { describe, expect, it } from 'vitest';
import { formatSize, parseSize } from './size.js';

describe('parseSize', () => {
  it('reads binary units the way sgdisk and truncate do', () => {
    expect(parseSize('64M')).toBe(64 * 1024 * 1024);
    expect(parseSize('64MiB')).toBe(64 * 1024 * 1024);
    expect(parseSize('64mb')).toBe(64 * 1024 * 1024);
    expect(parseSize('1.5G')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('2T')).toBe(2 * 1024 ** 4);
    expect(parseSize(' 512 K ')).toBe(512 * 1024);
    expect(parseSize('4096')).toBe(4096);
  });

  it('says undefined for what is not a size', () => {
    for (const text of ['', 'rest', 'M', '1X', '-1M', '1e3M', '1.2.3G']) expect(parseSize(text), text).toBeUndefined();
  });
});

describe('formatSize', () => {
  it('is exact where it can be', () => {
    expect([formatSize(64 * 1024 ** 2), formatSize(1024 ** 3), formatSize(1.5 * 1024 ** 3), formatSize(4096), formatSize(100)]).toEqual([
      '64 MiB',
      '1 GiB',
      '1.5 GiB',
      '4 KiB',
      '100 bytes',
    ]);
  });
});
