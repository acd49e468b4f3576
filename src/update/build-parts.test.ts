/**
 * What `update` adds to a build and a disk, without building: the config's rules, the slots in the disk plan, the
 * key check, the slot-size check, the boot contract's copy of the section.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateYaml } from '../config/load.js';
import { resolveLoaded } from '../config/resolve.js';
import { planDisk, slotSizeOf, storageOf } from '../disk/plan.js';
import { bootConfigOf } from '../pipeline/steps/boot-config.js';
import { checkFitsSlot, slotCapacityBytes, updateCmdline, updateKeyFile, updateModules } from './build-parts.js';

const BASE = `name: fleet
version: 1.2.0
storage:
  partitions:
    - { label: ESP, filesystem: vfat, size: 64M, esp: true }
    - { label: DATA, filesystem: ext4, size: rest, mount: /data }
`;
const UPDATE = 'update: { publicKey: keys/update.pub }\n';

function problem(yaml: string): string {
  try {
    validateYaml('fleet.yml', yaml);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('accepted');
}

describe('the update section of a config', () => {
  it('has sane defaults, and needs a mounted ext4 partition for its state', () => {
    expect(validateYaml('fleet.yml', BASE + UPDATE).update).toEqual({
      publicKey: 'keys/update.pub',
      healthSeconds: 30,
      stateDir: '/data/kiln/update',
      allowDowngrade: false,
    });
    expect(problem(`name: fleet\n${UPDATE}`)).toMatch(
      /update\.stateDir: expected a folder on a mounted ext4 partition .* found "\/data\/kiln\/update" and no mounted ext4 partition/,
    );
    expect(problem(BASE.replace('1.2.0', 'one')).split('\n')[0]).toMatch(/version: expected dotted numbers like "1\.4\.2"/);
    expect(problem(`${BASE}update: { publicKey: k, slotSize: huge }\n`)).toMatch(/update\.slotSize: expected a size like "64M"/);
  });

  it('adds efi=runtime, efivarfs and vfat only when present', () => {
    const off = validateYaml('fleet.yml', BASE);
    const on = validateYaml('fleet.yml', BASE + UPDATE);
    expect([updateCmdline(off), updateModules(off)]).toEqual(['', []]);
    expect([updateCmdline(on), updateModules(on)]).toEqual(['efi=runtime', ['efivarfs', 'vfat', 'nls_cp437', 'nls_ascii']]);
  });

  it('puts the two slots after the ESP on the disk, FAT32 and unmounted', () => {
    const config = validateYaml('fleet.yml', BASE + 'update: { publicKey: k, slotSize: 96M }\n');
    const plan = planDisk(storageOf(config), { configName: 'fleet.yml' });
    expect(plan.partitions.map((p) => [p.index + 1, p.partition.label, p.partition.filesystem, p.sizeBytes / 2 ** 20, p.partition.mount ?? '-'])).toEqual([
      [1, 'ESP', 'vfat', 64, '-'],
      [2, 'KILN_A', 'vfat', 96, '-'],
      [3, 'KILN_B', 'vfat', 96, '-'],
      [4, 'DATA', 'ext4', 1024 - 1 - 64 - 96 - 96 - 1, '/data'],
    ]);
    // The device's own storage section is the config's: the stage never mounts a slot.
    expect(config.storage?.partitions.map((p) => p.label)).toEqual(['ESP', 'DATA']);
  });

  it('refuses a firmware bigger than its slot, saying what size would do', () => {
    const config = validateYaml('fleet.yml', BASE + UPDATE);
    expect(() => checkFitsSlot(config, 40e6, 'fleet.yml')).not.toThrow();
    expect(slotCapacityBytes(64 * 2 ** 20)).toBeLessThan(64 * 2 ** 20 - 2 ** 20);
    expect(() => checkFitsSlot(config, 70e6, 'fleet.yml')).toThrow(
      /^fleet\.yml: update\.slotSize 64M \(the default\): the 66\.8 MiB firmware does not fit a slot \(at most 61 MiB\)$/,
    );
  });

  it('sizes a layout: source slot for its UKI and tree by default, and says so when one does not fit', () => {
    const one = validateYaml('fleet.yml', BASE + UPDATE + 'layout: source\n');
    expect(slotSizeOf(one)).toBe('192M');
    expect(slotSizeOf(validateYaml('fleet.yml', BASE + UPDATE + 'layout: source\narch: [x86_64, aarch64]\n'))).toBe('352M');
    expect(slotSizeOf(validateYaml('fleet.yml', BASE + 'update: { publicKey: k, slotSize: 300M }\nlayout: source\n'))).toBe('300M');
    expect(() => checkFitsSlot(one, 150e6, 'fleet.yml')).not.toThrow();
    expect(() => checkFitsSlot(one, 200e6, 'fleet.yml')).toThrow(
      /^fleet\.yml: update\.slotSize 192M \(the default\): the 190\.7 MiB firmware \(UKI and its tree\) does not fit a slot/,
    );
  });

  it('checks the public key, and the boot contract names the copy in the image', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-build-parts-'));
    const file = path.join(dir, 'fleet.yml');
    const resolved = (yaml: string) => resolveLoaded({ file, dir, config: validateYaml('fleet.yml', yaml) }, dir);
    await expect(updateKeyFile(resolved(BASE + UPDATE))).rejects.toThrow(/^fleet\.yml: update\.publicKey: cannot read keys\/update\.pub \(ENOENT\)$/);
    const pair = generateKeyPairSync('ed25519');
    await writeFile(path.join(dir, 'private.pem'), pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    await expect(updateKeyFile(resolved(`${BASE}update: { publicKey: private.pem }\n`))).rejects.toThrow(
      'fleet.yml: update.publicKey: a private key; name the public half (update.pub), never update.key',
    );
    await writeFile(path.join(dir, 'rsa.pub'), generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }) as string);
    await expect(updateKeyFile(resolved(`${BASE}update: { publicKey: rsa.pub }\n`))).rejects.toThrow(/a rsa key; kiln signs updates with Ed25519/);
    await writeFile(path.join(dir, 'update.pub'), pair.publicKey.export({ type: 'spki', format: 'pem' }) as string);
    const r = resolved(`${BASE}update: { publicKey: update.pub }\n`);
    expect(await updateKeyFile(r)).toMatchObject({ source: path.join(dir, 'update.pub'), target: '/etc/kiln/update.pub', mode: 0o644 });
    const boot = bootConfigOf(r, { buildId: 'b1', arch: 'x86_64', modules: [], programs: [], containerDigests: [] });
    expect(boot).toMatchObject({ version: '1.2.0', update: { publicKey: '/etc/kiln/update.pub', healthSeconds: 30 } });
    await rm(dir, { recursive: true, force: true });
  });
});
