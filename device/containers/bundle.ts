/**
 * A container's OCI bundle, made fresh for every start: its image found in the device's store by the digest the
 * build pinned, unpacked once into a root filesystem (reused while the image is unchanged), and config.json written to
 * /run/kiln/containers/<name>/ from the container's settings (runtime-spec.ts). Every failure names the field.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import type { BootContainer } from '../contract/boot-config.ts';
import path from 'node:path';
import { openImageStore, prepareRootfs } from './image-store.ts';
import { archivePathComponents, resolveInRoot } from './root-path.ts';
import { runtimeSpec, SpecError, type DeviceNode } from './runtime-spec.ts';
import { errorMessage } from '../contract/error-message.ts';

export const BUNDLES = '/run/kiln/containers';

export interface BundleContext {
  /** containerStore: oci/ (the image layout kiln disk seeds), roots/ (unpacked images), logs/. */
  store: string;
  partitions: Readonly<Record<string, string>>;
  hostname: string;
  readFile(path: string): Buffer;
}

export class BundleError extends Error {}

/** Linux's dev_t split (glibc's gnu_dev_major/minor), for numbers Node gives as `rdev`. */
export function deviceNumbers(rdev: number): { major: number; minor: number } {
  const big = BigInt(rdev);
  return {
    major: Number(((big >> 8n) & 0xfffn) | ((big >> 32n) & ~0xfffn)),
    minor: Number((big & 0xffn) | ((big >> 12n) & ~0xffn)),
  };
}

function deviceNode(path: string, index: number): DeviceNode {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new BundleError(`devices.${index}: ${path} does not exist on this device`);
  }
  if (!st.isCharacterDevice() && !st.isBlockDevice()) throw new BundleError(`devices.${index}: ${path} is not a device node`);
  return { path, type: st.isCharacterDevice() ? 'c' : 'b', ...deviceNumbers(st.rdev), fileMode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
}

function optionalText(read: (path: string) => Buffer, path: string): string | undefined {
  try {
    return read(path).toString('utf8');
  } catch {
    return undefined;
  }
}

/**
 * Every mount point the runtime config names, made in the (shared, read-only at run time) root filesystem before
 * the first start: crun would make missing ones itself, but containers of one image starting together race to
 * (`cannot mkdir sys: File exists`). Paths resolve inside the root, so an image's symlink cannot lead outside.
 */
async function createMountTargets(rootfs: string, mounts: readonly { destination: string; type: string; source: string }[]): Promise<void> {
  for (const m of mounts) {
    const target = await resolveInRoot(rootfs, archivePathComponents(m.destination), m.destination, true);
    const fileBind = m.type === 'bind' && existsSync(m.source) && !statSync(m.source).isDirectory();
    if (existsSync(target)) continue;
    if (fileBind) {
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, '', { flag: 'a' });
    } else {
      mkdirSync(target, { recursive: true });
    }
  }
}

/** The command's program must be in the image: crun 1.8 was seen to hang in `create` when it is not. */
async function checkExecutable(rootfs: string, spec: { process: { args: string[]; env: string[] } }, c: BootContainer): Promise<void> {
  const program = spec.process.args[0]!;
  const field = c.command !== undefined ? 'command' : c.args !== undefined ? 'args' : 'image';
  const pathVar = spec.process.env.find((e) => e.startsWith('PATH='))?.slice(5) ?? '/usr/bin:/bin';
  const candidates = program.includes('/')
    ? [program]
    : pathVar
        .split(':')
        .filter(Boolean)
        .map((dir) => `${dir}/${program}`);
  for (const candidate of candidates) {
    try {
      const host = await resolveInRoot(rootfs, archivePathComponents(candidate), candidate, true);
      if (existsSync(host) && statSync(host).isFile()) return;
    } catch {
      // A path the image cannot hold: not found.
    }
  }
  throw new BundleError(
    `${field}: "${program}" is not ${program.includes('/') ? 'a file in the image' : `in the image's PATH (${pathVar})`}${field === 'args' ? "; args replace the image's Cmd, command replaces its Entrypoint" : ''}`,
  );
}

export async function prepareBundle(c: BootContainer, ctx: BundleContext): Promise<string> {
  let prepared;
  try {
    const store = await openImageStore(`${ctx.store}/oci`);
    // By the digest kiln.lock pinned: a store seeded from another build does not silently run another image.
    prepared = await prepareRootfs(store, c.digest, `${ctx.store}/roots`);
  } catch (error) {
    throw new BundleError(`image ${c.image}: ${errorMessage(error)}`);
  }
  const devices = c.privileged ? [] : c.devices.map(deviceNode);
  let spec;
  try {
    spec = runtimeSpec(c, prepared.image, {
      rootfs: prepared.rootfs,
      hostname: ctx.hostname,
      partitions: ctx.partitions,
      devices,
      resolvConf: existsSync('/etc/resolv.conf'),
      passwd: optionalText(ctx.readFile, `${prepared.rootfs}/etc/passwd`),
      group: optionalText(ctx.readFile, `${prepared.rootfs}/etc/group`),
    });
  } catch (error) {
    if (error instanceof SpecError) throw new BundleError(`${error.field}: ${error.message}`);
    throw error;
  }
  await checkExecutable(prepared.rootfs, spec as { process: { args: string[]; env: string[] } }, c);
  await createMountTargets(prepared.rootfs, (spec as { mounts: { destination: string; type: string; source: string }[] }).mounts);
  const dir = `${BUNDLES}/${c.name}`;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(`${dir}/config.json`, `${JSON.stringify(spec, null, 2)}\n`);
  return dir;
}
