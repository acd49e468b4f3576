/**
 * Compressing initramfs layers with the host's xz or zstd (Node 20 has neither built in). Settings are the ones
 * the kernel's decompressors accept: xz with CRC32 checks (the kernel's xz has no CRC64), zstd within its window.
 */
import { spawn } from 'node:child_process';
import type { Compression } from '../config/schema.js';
import { KilnError } from '../util/errors.js';
import { missingTool } from '../util/exec.js';
import type { Progress } from '../util/report.js';

export function compressorArgs(c: Compression, threads: number): { tool: 'xz' | 'zstd'; args: string[]; ext: string } {
  if (c.algorithm === 'xz') {
    return { tool: 'xz', args: ['-z', '-c', '-q', '--check=crc32', `-T${threads}`, `-${c.level}${c.extreme ? 'e' : ''}`], ext: 'xz' };
  }
  return { tool: 'zstd', args: ['-c', '-q', `-T${threads}`, ...(c.level > 19 ? ['--ultra'] : []), `-${c.level}`], ext: 'zst' };
}

export function compress(data: Uint8Array, c: Compression, progress?: Progress): Promise<Buffer> {
  const { tool, args } = compressorArgs(c, 2);
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' ? missingTool(tool) : err));
    child.on('close', (code) => {
      progress?.stop();
      if (code === 0) resolve(Buffer.concat(chunks));
      else reject(new KilnError('COMPRESS_FAILED', `${tool} failed (exit ${code}): ${stderr.trim()}`));
    });
    // Feed in 1 MiB slices so the progress bar moves with what the compressor has taken.
    const slice = 1 << 20;
    let offset = 0;
    const pump = (): void => {
      while (offset < data.length) {
        const end = Math.min(offset + slice, data.length);
        const ok = child.stdin.write(data.subarray(offset, end));
        offset = end;
        progress?.update(offset);
        if (!ok) {
          child.stdin.once('drain', pump);
          return;
        }
      }
      child.stdin.end();
    };
    child.stdin.on('error', () => {}); // a dying compressor reports through 'close'
    pump();
  });
}
