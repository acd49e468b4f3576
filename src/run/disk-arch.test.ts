import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeEspDisk } from '../disk/esp-disk.js';
import { diskBootArches } from './disk-arch.js';

const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-disk-arch-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
const efi = new Uint8Array(4096).fill(0x4d);

describe('diskBootArches', () => {
  it('reads the boot files on the ESP: one architecture, both, none', async () => {
    const disk = (name: string) => path.join(dir, name);
    await writeEspDisk(disk('arm.img'), [{ path: 'EFI/BOOT/BOOTAA64.EFI', data: efi }]);
    await writeEspDisk(disk('both.img'), [
      { path: 'EFI/BOOT/BOOTAA64.EFI', data: efi },
      { path: 'EFI/BOOT/BOOTX64.EFI', data: efi },
      { path: 'src/kiln/x.ts', data: efi },
    ]);
    await writeEspDisk(disk('none.img'), [{ path: 'README.TXT', data: efi }]);
    expect(await diskBootArches(disk('arm.img'))).toEqual(['aarch64']);
    expect(await diskBootArches(disk('both.img'))).toEqual(['x86_64', 'aarch64']);
    expect(await diskBootArches(disk('none.img'))).toEqual([]);
  });

  it('a file that is no GPT disk: none', async () => {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(path.join(dir, 'junk.img'), Buffer.alloc(1 << 20, 7));
    expect(await diskBootArches(path.join(dir, 'junk.img'))).toEqual([]);
  });
});
