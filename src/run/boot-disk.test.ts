import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { diskFromImage } from './boot-disk.js';
import { resolveRunOptions } from './options.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-boot-disk-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const image = join(dir, 'disk.img');
writeFileSync(image, Buffer.concat([Buffer.from('GPT head'), Buffer.alloc(8 * 1024 * 1024)]));

describe('diskFromImage', () => {
  it('boots a fresh copy by default, removed afterwards; the image is never the one booted', async () => {
    const disk = await diskFromImage(image, undefined);
    expect(disk.path).not.toBe(image);
    expect(Buffer.compare(readFileSync(disk.path), readFileSync(image))).toBe(0);
    // Sparse: the 8 MiB of zeros take no blocks in the copy.
    expect(statSync(disk.path).blocks * 512).toBeLessThan(1024 * 1024);
    expect(disk.note).toBe(`booting a fresh copy of ${image} (the image itself is not changed; --keep-disk keeps the state)`);
    await disk.cleanup();
    expect(existsSync(disk.path)).toBe(false);
  });

  it('--keep-disk: made from the image on first use, then booted as the last run left it', async () => {
    const keep = join(dir, 'state.img');
    const first = await diskFromImage(image, keep);
    expect([first.path, first.note]).toEqual([keep, `kept disk ${keep}: created from ${image}; later runs boot it as this run leaves it`]);
    writeFileSync(keep, 'the device wrote this');
    const second = await diskFromImage(image, keep);
    await second.cleanup();
    expect(readFileSync(keep, 'utf8')).toBe('the device wrote this');
    expect(second.note).toMatch(/^booting the kept disk .*state\.img as it is/);
  });

  it('names a missing image and what makes one', async () => {
    await expect(diskFromImage(join(dir, 'nope.img'), undefined)).rejects.toThrow(/nope\.img: no such file/);
  });
});

describe('resolveRunOptions: one thing to boot', () => {
  const io = { stdout: process.stdout, stderr: process.stderr };
  it('takes an EFI or a disk, not both and not neither', () => {
    expect(resolveRunOptions({ ...io, disk: image }).disk).toBe(image);
    expect(resolveRunOptions({ ...io, efi: 'x.efi' }).efi).toBe('x.efi');
    expect(() => resolveRunOptions({ ...io })).toThrow('give exactly one thing to boot');
    expect(() => resolveRunOptions({ ...io, efi: 'x.efi', disk: image })).toThrow('give exactly one thing to boot');
  });
});
