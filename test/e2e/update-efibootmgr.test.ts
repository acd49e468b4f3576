/**
 * End to end: kiln's UEFI boot entries judged by two readers nobody here wrote. An updatable `debug` image ships
 * Debian's efibootmgr (src/inputs/tools.ts), and the fixture service test/fixtures/programs/show-boot-entries prints
 * `efibootmgr -v` once per boot, after the update stage has mounted efivarfs and re-asserted the entries. The disk's
 * partitions are read by sgdisk on the host; OVMF itself says which entry it boots (BdsDxe's lines). Three boots of
 * one disk from `kiln disk`, kept with its variable store (`kiln run --keep-disk`), each ended by the power button:
 *   1. fresh variables, no bootindex: OVMF boots the disk's removable-media fallback; kiln writes Boot#### for slots
 *      A and B (HD() of the slot's GPT partition + File(\EFI\kiln\KILNX64.EFI)) and puts them first in BootOrder
 *   2. no bootindex: OVMF boots kiln's slot-A entry; the init finds nothing to rewrite
 *   3. QEMU bootindex on the disk: what OVMF does to kiln's entries, and the init's repair (see the test)
 * ~3 boots under TCG (~40 s each) and one fast build.
 */
import { execFileSync } from 'node:child_process';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { kiln, kilnRun } from '../helpers/cli.js';

const root = path.resolve(import.meta.dirname, '../..');
const NAME = 'efibootmgr-e2e';
const LOADER = String.raw`File(\EFI\kiln\KILNX64.EFI)`;
const EFIBOOTMGR_DONE = /kiln: \[show-boot-entries\] efibootmgr: exit \S+\n/;
let work: string;
let disk: string;
let buildId: string;

const config = `name: ${NAME}
version: 1.0.0
debug: true
kernel:
  modules: [virtio_pci, virtio_blk]
storage:
  partitions:
    - { label: ESP, filesystem: vfat, size: 64M, esp: true }
    - { label: DATA, filesystem: ext4, size: rest, mount: /data }
update:
  publicKey: keys/update.pub
programs:
  - name: show-boot-entries
    source: ${root}/test/fixtures/programs/show-boot-entries
    service: { restart: never }
`;

interface EfibootmgrView {
  current: number;
  order: number[];
  /** Boot#### by number: active flag, description, and the device path as efibootmgr renders it. */
  entries: Map<number, { active: boolean; description: string; path: string }>;
  exit: string;
}

/** `efibootmgr -v` as the fixture printed it, one boot's worth. */
function efibootmgrView(out: string): EfibootmgrView {
  const lines = out
    .split('\n')
    .filter((l) => l.startsWith('kiln: [show-boot-entries] efibootmgr: '))
    .map((l) => l.slice('kiln: [show-boot-entries] efibootmgr: '.length));
  const value = (key: string) => lines.find((l) => l.startsWith(`${key}: `))?.slice(key.length + 2);
  const entries = new Map<number, { active: boolean; description: string; path: string }>();
  for (const line of lines) {
    const m = /^Boot([0-9A-F]{4})(\*?) ([^\t]*)\t(.*)$/.exec(line);
    if (m) entries.set(parseInt(m[1]!, 16), { active: m[2] === '*', description: m[3]!, path: m[4]! });
  }
  return {
    current: parseInt(value('BootCurrent') ?? 'NaN', 16),
    order: (value('BootOrder') ?? '').split(',').map((n) => parseInt(n, 16)),
    entries,
    exit: lines.at(-1) ?? '(no efibootmgr output)',
  };
}

/** One partition as sgdisk -i reads it from the disk image. */
function sgdiskPartition(n: number): { guid: string; first: number; sectors: number; name: string } {
  const text = execFileSync('sgdisk', ['-i', String(n), disk], { encoding: 'utf8' });
  const field = (re: RegExp) => re.exec(text)?.[1] ?? `(no match for ${re} in sgdisk -i ${n}:\n${text})`;
  return {
    guid: field(/^Partition unique GUID: ([0-9A-F-]{36})$/m),
    first: Number(field(/^First sector: (\d+) /m)),
    sectors: Number(field(/^Partition size: (\d+) sectors/m)),
    name: field(/^Partition name: '(.*)'$/m),
  };
}

/** efibootmgr's rendering of kiln's entry for the slot in GPT partition `n`, from sgdisk's reading of the disk. */
function expectedPath(n: number): string {
  const p = sgdiskPartition(n);
  return `HD(${n},GPT,${p.guid.toLowerCase()},0x${p.first.toString(16)},0x${p.sectors.toString(16)})/${LOADER}`;
}

/** OVMF's own line for the entry it boots (upper-case GUID, the file path without File()). */
function ovmfStarting(entry: number, description: string, n: number): string {
  const p = sgdiskPartition(n);
  const hd = `HD(${n},GPT,${p.guid},0x${p.first.toString(16)},0x${p.sectors.toString(16)})`;
  return `BdsDxe: starting Boot${hex(entry)} "${description}" from ${hd}/\\EFI\\kiln\\KILNX64.EFI`;
}

const hex = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');

/** Boots the kept disk until efibootmgr has spoken, then presses the power button; the console, CRs removed. */
async function boot(extra: string[]): Promise<string> {
  let stopping = false;
  const r = await kilnRun([disk, '--keep-disk', path.join(work, 'state.img'), '--no-network', '--timeout', '400', ...extra], (text, child) => {
    if (!stopping && EFIBOOTMGR_DONE.test(text.replace(/\r/g, ''))) {
      stopping = true;
      child.kill('SIGTERM');
    }
  });
  const out = r.out.replace(/\r/g, '');
  expect(stopping, `efibootmgr never finished; console tail:\n${out.slice(-3000)}\n${r.err}`).toBe(true);
  expect(out).toMatch(/reboot: Power down/);
  expect(r.code, r.err).toBe(0);
  return out;
}

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'kiln-efibootmgr-e2e-'));
  disk = path.join(work, 'disk.img');
  await writeFile(path.join(work, 'kiln.yml'), config);
  // The examples' pins include efibootmgr and its libraries: a warm cache builds without the network.
  await copyFile(path.join(root, 'examples/kiln.lock'), path.join(work, 'kiln.lock'));
  const keys = await kiln(['keys', '--out', path.join(work, 'keys')]);
  expect(keys.code, keys.stderr).toBe(0);
  const made = await kiln(['disk', path.join(work, 'kiln.yml'), '--out', disk, '--profile', 'fast', '--json', '-q']);
  expect(made.stderr).toBe('');
  expect(made.code).toBe(0);
  buildId = (JSON.parse(made.stdout) as { builds: { buildId: string }[] }).builds[0]!.buildId;
  expect([sgdiskPartition(2).name, sgdiskPartition(3).name]).toEqual(['KILN_A', 'KILN_B']);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("kiln's boot entries, read back by efibootmgr -v and booted by OVMF", () => {
  /** Entry numbers kiln wrote on the first boot, and the firmware's own entry it booted then. */
  const first = { a: -1, b: -1, fallback: -1, order: [] as number[] };
  const descriptionA = () => `kiln A: ${NAME} 1.0.0 (${buildId})`;
  const descriptionB = `kiln B: ${NAME}`; // slot B holds nothing yet: the name only

  function expectKilnEntries(view: EfibootmgrView): void {
    expect(view.entries.get(first.a)).toEqual({ active: true, description: descriptionA(), path: expectedPath(2) });
    expect(view.entries.get(first.b)).toEqual({ active: true, description: descriptionB, path: expectedPath(3) });
    expect(view.exit).toBe('exit 0');
  }

  test('first boot, fresh variables: OVMF boots the fallback, kiln writes Boot#### for A and B and puts them first', async () => {
    const out = await boot(['--no-bootindex']);
    const wrote = /kiln: update: wrote Boot([0-9A-F]{4}), Boot([0-9A-F]{4}), BootOrder\n/.exec(out);
    expect(wrote, out.slice(-3000)).not.toBeNull();
    [first.a, first.b] = [parseInt(wrote![1]!, 16), parseInt(wrote![2]!, 16)];
    expect(out).toMatch(/kiln: update: booted the ESP fallback \(Boot[0-9A-F]{4}\), committed A \(/);
    const view = efibootmgrView(out);
    // Recorded before judging, so the later boots are judged on their own when this one fails.
    [first.fallback, first.order] = [view.current, view.order];
    // BootCurrent is the entry OVMF made for the disk itself (its removable-media path), not one of kiln's.
    expect([first.a, first.b]).not.toContain(view.current);
    expect(view.entries.get(view.current)?.path).toMatch(/^PciRoot\(0x0\)\/Pci\(0x[0-9a-f]+,0x0\)/);
    expect(view.order.slice(0, 2)).toEqual([first.a, first.b]);
    expect(new Set(view.order)).toEqual(new Set(view.entries.keys()));
    expectKilnEntries(view);
  }, 600_000);

  test("second boot, no bootindex: OVMF boots kiln's slot-A entry, and nothing needs writing", async () => {
    expect(first.a, 'needs the first boot').toBeGreaterThanOrEqual(0);
    const out = await boot(['--no-bootindex']);
    expect(out).toContain(ovmfStarting(first.a, descriptionA(), 2));
    expect(out).toContain(`kiln: update: booted slot A (Boot${hex(first.a)}), committed A (`);
    expect(out).not.toMatch(/kiln: update: wrote /);
    const view = efibootmgrView(out);
    expect(view.current).toBe(first.a);
    expect(view.order).toEqual(first.order);
    expectKilnEntries(view);
  }, 600_000);

  test('third boot, QEMU bootindex on the disk: OVMF keeps slot A, deletes the empty slot B; the init writes B back', async () => {
    expect(first.a, 'needs the first boot').toBeGreaterThanOrEqual(0);
    const out = await boot([]);
    // With bootindex, OVMF (edk2's QemuBootOrderLib, SetBootOrderFromQemu) rewrites BootOrder before it boots: first
    // every entry that matches the bootindex disk, in BootOrder's order — kiln A, whose short-form HD() path it
    // expands by loading the file it names (the slot's KILNX64.EFI), then the firmware's own entry for the disk —
    // then the unmatched entries its survival policy keeps (UiApp and the shell: FvFile paths). An unmatched entry
    // that starts with HD() is dropped and its Boot#### deleted: kiln B, while slot B holds no KILNX64.EFI to load.
    // OVMF still boots kiln A.
    expect(out).toContain(ovmfStarting(first.a, descriptionA(), 2));
    // The init's update stage re-asserts its entries: B again under the same (lowest free) number, BootOrder with
    // A, B first and the rest in the order OVMF left it. Without bootindex (as on hardware) none of this happens.
    expect(out).toContain(`kiln: update: wrote Boot${hex(first.b)}, BootOrder\n`);
    expect(out).toContain(`kiln: update: booted slot A (Boot${hex(first.a)}), committed A (`);
    const view = efibootmgrView(out);
    expect(view.current).toBe(first.a);
    const rest = first.order.filter((n) => n !== first.a && n !== first.b && n !== first.fallback);
    expect(view.order).toEqual([first.a, first.b, first.fallback, ...rest]);
    expectKilnEntries(view);
  }, 600_000);
});
