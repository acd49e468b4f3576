import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { efiPathOnEsp, espFilesBesideEfi, espFilesOfBuilds } from './esp-files.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-esp-files-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('what goes on an ESP', () => {
  it("puts each architecture's EFI at the firmware's removable-media path", async () => {
    await writeFile(path.join(dir, 'BOOTX64.EFI'), 'x');
    await writeFile(path.join(dir, 'BOOTAA64.EFI'), 'a');
    const files = await espFilesOfBuilds([
      { arch: 'x86_64', efi: path.join(dir, 'BOOTX64.EFI'), stick: undefined },
      { arch: 'aarch64', efi: path.join(dir, 'BOOTAA64.EFI'), stick: undefined },
    ]);
    expect(files.map((f) => [f.path, Buffer.from(f.data).toString()])).toEqual([
      ['EFI/BOOT/BOOTX64.EFI', 'x'],
      ['EFI/BOOT/BOOTAA64.EFI', 'a'],
    ]);
    expect(efiPathOnEsp('aarch64')).toBe('EFI/BOOT/BOOTAA64.EFI');
  });

  it('adds the stick files of a layout: source build, the shared src/ once', async () => {
    for (const [f, text] of [
      ['linux_amd64/bin/node', 'n'],
      ['linux_arm64/bin/node', 'm'],
      ['src/kiln/main.ts', 's'],
    ] as const) {
      await mkdir(path.dirname(path.join(dir, f)), { recursive: true });
      await writeFile(path.join(dir, f), text);
    }
    const stick = (own: string) => ({ dir, files: [`${own}/bin/node`, 'src/kiln/main.ts'], bytes: 2, label: 'ESP' });
    const files = await espFilesOfBuilds([
      { arch: 'x86_64', efi: path.join(dir, 'BOOTX64.EFI'), stick: stick('linux_amd64') },
      { arch: 'aarch64', efi: path.join(dir, 'BOOTAA64.EFI'), stick: stick('linux_arm64') },
    ]);
    expect(files.map((f) => f.path).sort()).toEqual([
      'EFI/BOOT/BOOTAA64.EFI',
      'EFI/BOOT/BOOTX64.EFI',
      'linux_amd64/bin/node',
      'linux_arm64/bin/node',
      'src/kiln/main.ts',
    ]);
  });

  it('an EFI that is no source-layout UKI goes on alone', async () => {
    const files = await espFilesBesideEfi(path.join(dir, 'BOOTX64.EFI'), new Uint8Array([1, 2]), 'x86_64');
    expect(files).toEqual([{ path: 'EFI/BOOT/BOOTX64.EFI', data: new Uint8Array([1, 2]) }]);
  });
});
