import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { compress, compressorArgs } from './compress.js';

describe('initramfs compression', () => {
  test('xz on x86_64 adds the x86 BCJ filter and CRC32 checks the kernel can decode', () => {
    expect(compressorArgs({ algorithm: 'xz', level: 9, extreme: true }, 2, 'x86_64').args).toEqual([
      '-z',
      '-c',
      '-q',
      '--check=crc32',
      '-T2',
      '--x86',
      '--lzma2=preset=9e',
    ]);
    expect(compressorArgs({ algorithm: 'xz', level: 6 }, 1, 'aarch64').args).toEqual(['-z', '-c', '-q', '--check=crc32', '-T1', '-6']);
    expect(compressorArgs({ algorithm: 'zstd', level: 22 }, 2).args).toEqual(['-c', '-q', '-T2', '--ultra', '-22']);
  });

  test('the output is what xz itself decodes back to the input, with the CRC32 check', async () => {
    const input = Buffer.from('kiln '.repeat(10000));
    const packed = await compress(input, { algorithm: 'xz', level: 6 }, 'x86_64');
    expect(execFileSync('xz', ['-dc'], { input: packed })).toEqual(input);
    const file = path.join(os.tmpdir(), `kiln-compress-${process.pid}.xz`);
    writeFileSync(file, packed);
    try {
      // xz --list reads only files: the check and the filter chain the kernel must support.
      const list = execFileSync('xz', ['--robot', '--list', '--verbose', '--verbose', file]).toString();
      expect(list).toMatch(/CRC32/);
      expect(list).toMatch(/--x86 --lzma2/);
    } finally {
      rmSync(file);
    }
  });

  test('zstd output decodes with zstd', async () => {
    const input = Buffer.from('edge '.repeat(10000));
    const packed = await compress(input, { algorithm: 'zstd', level: 3 }, 'x86_64');
    expect(execFileSync('zstd', ['-dc'], { input: packed })).toEqual(input);
  });
});
