/**
 * The disk `kiln run` boots when it is given a disk image or a config with `storage`: the whole GPT disk on
 * virtio-blk, booted by OVMF from its own ESP. By default a fresh copy each run (in a temp dir, removed after),
 * so a run never changes the image it was given; with `--keep-disk PATH` the disk at PATH is created on first use
 * and booted in place afterwards, so the device's state survives from run to run.
 */
import { access, mkdtemp, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { BuildResult } from '../pipeline/build.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { contentFolder, readFatContent } from '../disk/content.js';
import { prepareTarget, writeDisk } from '../disk/index.js';
import { espFilesOfBuilds } from '../disk/esp-files.js';
import { partitionWhere } from '../disk/plan.js';
import { refreshEsp } from '../disk/refresh-esp.js';
import { tempBeside } from '../inputs/cache.js';
import { KilnError } from '../util/errors.js';
import { execOk } from '../util/exec.js';

export interface RunDisk {
  /** The image QEMU boots and writes. */
  path: string;
  /** One line for the user: where the disk came from and what happens to it. */
  note: string;
  /** Removes the temporary copy (nothing for a kept disk). */
  cleanup(): Promise<void>;
}

/** Disk images kiln run boots as a whole disk. */
export const DISK_IMAGE = /\.(img|raw)$/i;

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

/** Sparse copy: a 1 GiB image holding 60 MB copies in well under a second and takes 60 MB. */
async function sparseCopy(from: string, to: string): Promise<void> {
  const temp = tempBeside(to);
  try {
    await execOk('cp', ['--sparse=always', '--reflink=auto', from, temp], `copying ${from}`);
    await rename(temp, to);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

async function scratch(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-disk-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** `kiln run disk.img [--keep-disk PATH]`. */
export async function diskFromImage(image: string, keep: string | undefined): Promise<RunDisk> {
  if (!(await exists(image)))
    throw new KilnError('RUN_NO_IMAGE', `${image}: no such file`, { hint: 'Make one first: kiln disk examples/gateway.yml --out disk.img' });
  if (keep !== undefined) {
    if (await exists(keep))
      return {
        path: keep,
        note: `booting the kept disk ${keep} as it is (${path.basename(image)} is not used: delete ${keep} to start over from it)`,
        cleanup: async () => {},
      };
    await sparseCopy(image, keep);
    return { path: keep, note: `kept disk ${keep}: created from ${image}; later runs boot it as this run leaves it`, cleanup: async () => {} };
  }
  const tmp = await scratch();
  const copy = path.join(tmp.dir, path.basename(image));
  try {
    await sparseCopy(image, copy);
  } catch (error) {
    await tmp.cleanup();
    throw error;
  }
  return { path: copy, note: `booting a fresh copy of ${image} (the image itself is not changed; --keep-disk keeps the state)`, cleanup: tmp.cleanup };
}

/**
 * `kiln run kiln.yml [--keep-disk PATH]` for a config with storage: the disk from the EFIs just built. A kept disk
 * that exists gets the new build on its ESP and keeps everything else. Undefined for a config without storage
 * (it boots from an ESP-only disk as before).
 */
export async function diskFromConfig(
  loaded: ResolvedConfig,
  built: readonly BuildResult[],
  keep: string | undefined,
  mtime: number,
): Promise<RunDisk | undefined> {
  const configFile = loaded.file;
  if (loaded.config.storage === undefined && loaded.config.layout !== 'source') {
    if (keep !== undefined) {
      throw new KilnError('RUN_BAD_OPTION', `--keep-disk: ${configFile} has no storage section, so there is no state to keep`, {
        hint: 'Add storage.partitions (see examples/gateway.yml), or boot a disk image made by kiln disk.',
      });
    }
    return undefined;
  }
  if (keep !== undefined && (await exists(keep))) {
    const prepared = await prepareTarget(loaded, {});
    const espPlan = prepared.plan.partitions.find((p) => p.partition.esp)!;
    const folder = await contentFolder(espPlan, loaded.dir);
    const files = [...(await espFilesOfBuilds(built)), ...(folder === undefined ? [] : await readFatContent(folder, partitionWhere(espPlan, 'content')))];
    await refreshEsp(keep, files, espPlan.partition.label);
    return { path: keep, note: `kept disk ${keep}: this build is on its ESP, every other partition is as the last run left it`, cleanup: async () => {} };
  }
  const tmp = keep === undefined ? await scratch() : undefined;
  const out = keep ?? path.join(tmp!.dir, 'disk.img');
  try {
    const prepared = await prepareTarget(loaded, { out });
    await writeDisk(loaded, prepared, built, mtime);
  } catch (error) {
    await tmp?.cleanup();
    throw error;
  }
  return keep === undefined
    ? { path: out, note: 'booting a fresh disk made from the config (--keep-disk PATH keeps it, and the device state, across runs)', cleanup: tmp!.cleanup }
    : {
        path: out,
        note: `kept disk ${keep}: created from the config; later runs keep its partitions and put each new build on its ESP`,
        cleanup: async () => {},
      };
}
