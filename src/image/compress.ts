/**
 * Compressing initramfs layers with the host's xz or zstd (Node 20 has neither built in). Settings are the ones
 * the kernel's decompressors accept: xz with CRC32 checks (the kernel's xz has no CRC64), zstd within its window.
 */
import { spawn } from 'node:child_process';
import type { Arch, Compression } from '../config/schema.js';
import { KilnError } from '../util/errors.js';
import { missingTool } from '../util/exec.js';
import type { Progress } from '../util/report.js';

/**
 * On x86_64, xz runs the x86 BCJ filter before LZMA2: it turns relative call/jump targets into absolute ones, so
 * machine code repeats more and compresses ~10 % smaller (Node is most of the image). Debian's kernel decodes it
 * (CONFIG_XZ_DEC_X86=y); it has no ARM64 BCJ decoder, so other architectures get plain LZMA2.
 */
export function compressorArgs(c: Compression, threads: number, arch: Arch = 'x86_64'): { tool: 'xz' | 'zstd'; args: string[]; ext: string } {
  if (c.algorithm === 'xz') {
    const preset = `${c.level}${c.extreme ? 'e' : ''}`;
    const filters = arch === 'x86_64' ? ['--x86', `--lzma2=preset=${preset}`] : [`-${preset}`];
    return { tool: 'xz', args: ['-z', '-c', '-q', '--check=crc32', `-T${threads}`, ...filters], ext: 'xz' };
  }
  return { tool: 'zstd', args: ['-c', '-q', `-T${threads}`, ...(c.level > 19 ? ['--ultra'] : []), `-${c.level}`], ext: 'zst' };
}

export function compress(data: Uint8Array, c: Compression, arch: Arch, progress?: Progress): Promise<Buffer> {
  const { tool, args } = compressorArgs(c, 2, arch);
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
