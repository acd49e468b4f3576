/**
 * The device's container image store, seeded by `kiln disk`: an OCI image layout at `<containerStore>/oci` on the
 * partition mounted there, holding every container's pinned image (index.json names each manifest by container).
 * ext4 content comes from one folder (mkfs.ext4 -d), so the partition's own content folder and the layout are
 * staged together in a temporary folder; blobs are hard links into kiln's cache, so staging copies nothing.
 */
import { cp, mkdir, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../config/schema.js';
import type { PinnedImage } from '../container-images/pin.js';
import { isOnMount } from '../../device/contract/config/containers-schema.ts';
import { writeOciLayout } from '../container-images/index.js';
import { KilnError } from '../util/errors.js';
import type { DiskPlan } from './plan.js';

export interface StagedStore {
  /** The plan with the store's partition pointing at the staged folder. */
  plan: DiskPlan;
  /** The staging folder, removed by the caller. */
  dir: string | undefined;
}

export async function stageContainerStore(
  config: Config,
  plan: DiskPlan,
  configDir: string,
  builds: readonly { arch: string; images: PinnedImage[] }[],
): Promise<StagedStore> {
  const withImages = builds.filter((b) => b.images.length > 0);
  if (withImages.length === 0) return { plan, dir: undefined };
  if (withImages.length > 1) {
    throw new KilnError(
      'DISK_CONTAINERS',
      `containers on a disk for several architectures (${withImages.map((b) => b.arch).join(', ')}) are not supported yet`,
      {
        hint: 'Make one disk per architecture: a config with a single arch.',
      },
    );
  }
  const index = plan.partitions.findIndex((p) => isOnMount(config.containerStore, p.partition.mount));
  const planned = plan.partitions[index];
  if (planned === undefined || planned.partition.filesystem !== 'ext4') {
    throw new KilnError('DISK_CONTAINERS', `containerStore ${config.containerStore} must be on a mounted ext4 partition`, {
      hint: 'Mount an ext4 partition at /data (see examples/gateway.yml).',
    });
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-store-'));
  if (planned.partition.content !== undefined) await cp(path.resolve(configDir, planned.partition.content), dir, { recursive: true, preserveTimestamps: true });
  const relative = path.relative(planned.partition.mount!, config.containerStore);
  const layout = path.join(dir, relative, 'oci');
  await mkdir(path.dirname(layout), { recursive: true });
  await writeOciLayout(layout, withImages[0]!.images);
  const partitions = plan.partitions.map((p, i) => (i === index ? { ...p, partition: { ...p.partition, content: dir } } : p));
  return { plan: { ...plan, partitions }, dir };
}
