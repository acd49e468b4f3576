/**
 * A container image as a user would make one, with independent tools: umoci builds an OCI image layout from
 * Debian's busybox-static (tag `busybox`), with the applets the e2e containers call. For test/e2e/*.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';

export function tool(name: string, args: string[], cwd?: string): string {
  try {
    return execFileSync(name, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  } catch (error) {
    const e = error as { code?: string; stderr?: Buffer };
    if (e.code === 'ENOENT') throw new Error(`${name} not found (Debian packages umoci, skopeo, busybox-static: see .ci/host-packages)`);
    throw new Error(`${name} ${args.join(' ')}: ${e.stderr?.toString() ?? ''}`);
  }
}

const APPLETS = ['sh', 'echo', 'cat', 'grep', 'awk', 'sleep', 'taskset', 'hostname', 'httpd', 'test'];

/** The layout at `layout` (made, or added to), tag `tag`; `scratch` holds umoci's unpacked bundle. Env GREETING is `greeting`. */
export async function makeBusyboxImage(layout: string, scratch: string, greeting = 'hello from an umoci image', tag = 'busybox'): Promise<void> {
  const bundle = path.join(scratch, `bundle-${tag}`);
  if (!existsSync(layout)) tool('umoci', ['init', '--layout', layout]);
  tool('umoci', ['new', '--image', `${layout}:${tag}`]);
  tool('umoci', ['unpack', '--image', `${layout}:${tag}`, bundle]);
  const rootfs = path.join(bundle, 'rootfs');
  await mkdir(path.join(rootfs, 'bin'), { recursive: true });
  await copyFile('/bin/busybox', path.join(rootfs, 'bin/busybox'));
  await chmod(path.join(rootfs, 'bin/busybox'), 0o755);
  for (const applet of APPLETS) await symlink('busybox', path.join(rootfs, 'bin', applet));
  tool('umoci', ['repack', '--image', `${layout}:${tag}`, bundle]);
  tool('umoci', ['config', '--image', `${layout}:${tag}`, '--config.cmd', '/bin/sh', '--config.env', `GREETING=${greeting}`]);
}
