import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { KilnError } from '../util/errors.js';
import { BASE_MODULES, selectModules, type KernelTree } from './kernel-modules.js';

// A kernel tree shaped like Debian's arm64 RT kernel where it matters here: `button` and the virtio core built
// in (modules.builtin), `virtio_blk` a module, and no `evdev` at all.
let kernel: KernelTree;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-modules-'));
  const modulesDir = path.join(dir, 'lib/modules/6.1.0-56-rt-arm64');
  await mkdir(path.join(modulesDir, 'kernel/drivers/block'), { recursive: true });
  await copyFile(new URL('../formats/modules/fixtures/virtio_blk.ko', import.meta.url), path.join(modulesDir, 'kernel/drivers/block/virtio_blk.ko'));
  await writeFile(
    path.join(modulesDir, 'modules.builtin'),
    ['kernel/drivers/acpi/button.ko', 'kernel/drivers/virtio/virtio.ko', 'kernel/drivers/virtio/virtio_ring.ko', ''].join('\n'),
  );
  kernel = { release: '6.1.0-56-rt-arm64', vmlinuz: path.join(dir, 'boot/vmlinuz'), modulesDir };
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('selectModules: base modules per architecture', () => {
  test('both architectures want the power button and its input events', () => {
    expect(BASE_MODULES).toEqual({ x86_64: ['button', 'evdev'], aarch64: ['button', 'evdev'] });
  });

  test('a base module the kernel lacks is skipped; one built in is listed as built in', async () => {
    const shipped = await selectModules(kernel, ['virtio_blk'], 'linux-image-rt-arm64', 'aarch64');
    expect(shipped.order.map((m) => m.name)).toEqual(['virtio_blk']);
    expect(shipped.builtin.sort()).toEqual(['button', 'virtio', 'virtio_ring']);
  });

  test('the same module asked for by the config is still an error', async () => {
    const e = await selectModules(kernel, ['virtio_blk', 'evdev'], 'linux-image-rt-arm64', 'aarch64').catch((err: unknown) => err);
    expect(e).toBeInstanceOf(KilnError);
    expect((e as KilnError).message).toBe('kernel.modules: "evdev" not found in linux-image-rt-arm64 (6.1.0-56-rt-arm64)');
  });
});
