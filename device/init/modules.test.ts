import { describe, expect, it } from 'vitest';
import { fakeFs, fakeLibc } from '../testing/fakes.ts';
import { loadModules, summarizeModules } from './modules.ts';

const dir = '/lib/modules/6.1.0-56-rt-amd64/kernel';
const modules = [
  { name: 'virtio_ring', path: `${dir}/drivers/virtio/virtio_ring.ko` },
  { name: 'virtio', path: `${dir}/drivers/virtio/virtio.ko` },
  { name: 'missing', path: `${dir}/drivers/missing.ko` },
  { name: 'button', path: `${dir}/drivers/acpi/button.ko` },
  { name: 'zstd_mod', path: `${dir}/lib/zstd_mod.ko.zst` },
];

describe('loadModules', () => {
  it('loads in the given order through finit_module on an open fd, reporting each failure by name', () => {
    const fs = fakeFs(Object.fromEntries(modules.filter((m) => m.name !== 'missing').map((m) => [m.path, 'ELF'])));
    const libc = fakeLibc(
      { [`finit_module ${dir}/drivers/virtio/virtio.ko '' 0`]: 'ENOEXEC', [`finit_module ${dir}/drivers/acpi/button.ko '' 0`]: 'EEXIST' },
      fs.open,
    );
    const outcomes = loadModules(libc, fs, modules);
    expect(libc.calls).toEqual([
      `finit_module ${dir}/drivers/virtio/virtio_ring.ko '' 0`,
      `finit_module ${dir}/drivers/virtio/virtio.ko '' 0`,
      `finit_module ${dir}/drivers/acpi/button.ko '' 0`,
      `finit_module ${dir}/lib/zstd_mod.ko.zst '' 4`,
    ]);
    expect(outcomes).toEqual([
      { name: 'virtio_ring', status: 'loaded' },
      { name: 'virtio', status: 'failed', error: 'Exec format error (ENOEXEC)' },
      { name: 'missing', status: 'failed', error: `ENOENT: no such file or directory, open '${dir}/drivers/missing.ko'` },
      { name: 'button', status: 'already-loaded' },
      { name: 'zstd_mod', status: 'loaded' },
    ]);
    expect(fs.open.size).toBe(0);
    expect(summarizeModules(outcomes)).toBe('2 loaded, 1 already loaded, 2 failed (virtio, missing)');
  });
  it('summarizes a clean load briefly', () => {
    expect(summarizeModules([{ name: 'a', status: 'loaded' }])).toBe('1 loaded');
    expect(summarizeModules([])).toBe('0 loaded');
  });
});
