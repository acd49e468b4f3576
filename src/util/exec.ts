/**
 * Running host tools (apt-get, npm, dpkg-deb, xz, zstd, qemu). A missing tool is a KilnError that names the
 * Debian package providing it, so the user knows exactly what to install.
 */
import { spawn, type SpawnOptions } from 'node:child_process';
import { KilnError } from './errors.js';

/** Debian package that provides each host tool kiln runs. */
export const TOOL_PACKAGES: Record<string, string> = {
  'apt-get': 'apt',
  'dpkg-deb': 'dpkg',
  npm: 'npm',
  xz: 'xz-utils',
  zstd: 'zstd',
  'qemu-system-x86_64': 'qemu-system-x86',
  'qemu-system-aarch64': 'qemu-system-arm',
  'mkfs.ext4': 'e2fsprogs',
  debugfs: 'e2fsprogs',
  e2fsck: 'e2fsprogs',
  blockdev: 'util-linux',
  partx: 'util-linux',
  // Secure Boot: the key set (openssl, efitools) and the UKI's signature (osslsigncode)
  openssl: 'openssl',
  osslsigncode: 'osslsigncode',
  'cert-to-efi-sig-list': 'efitools',
  'sign-efi-sig-list': 'efitools',
};

export function missingTool(tool: string): KilnError {
  const pkg = TOOL_PACKAGES[tool] ?? tool;
  return new KilnError('TOOL_MISSING', `${tool} is not installed (needed by kiln)`, {
    hint: `Install it: ${process.getuid?.() === 0 ? '' : 'sudo '}apt-get install -y ${pkg}`,
  });
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs a tool to completion, capturing its output. Rejects only when the tool cannot start. */
export function exec(tool: string, args: readonly string[], options: SpawnOptions & { input?: string } = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { ...options, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' ? missingTool(tool) : err));
    child.on('close', (code) => resolve({ stdout, stderr, code: code ?? 1 }));
    // A tool that exits without reading its stdin makes this write fail with EPIPE: its exit code tells the story.
    child.stdin!.on('error', () => {});
    child.stdin!.end(options.input ?? '');
  });
}

/** Like exec, but a non-zero exit is a KilnError carrying the tool's last line of stderr. */
export async function execOk(tool: string, args: readonly string[], what: string, options: SpawnOptions = {}): Promise<ExecResult> {
  const result = await exec(tool, args, options);
  if (result.code !== 0) {
    throw new KilnError('TOOL_FAILED', `${what}: ${tool} failed: ${lastLine(result.stderr) || `exit code ${result.code}`}`);
  }
  return result;
}

export function lastLine(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines[lines.length - 1] ?? '';
}
