/**
 * A layout: source slot's tree unpacked on the device (install-tree.ts). The archives are made by the host's own
 * writer (src/update/slot-tree.ts, GNU tar) — or by GNU tar directly for the hostile ones — and unpacked by the real
 * tar reader into a real folder: what lands there is compared with the files that went in.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { writeSlotTree } from '../../src/update/slot-tree.js';
import { STATEMENT_TYPE, TREE_FORMAT, type FirmwareStatement } from '../contract/update/statement.ts';
import { nodeSlotFiles, type SlotFiles } from '../sys/slot-files.ts';
import { UpdateRefused } from './install.ts';
import { writeTree } from './install-tree.ts';

const work = mkdtempSync(path.join(tmpdir(), 'kiln-install-tree-'));
const EFI_FILE = 'EFI/kiln/KILNX64.EFI';
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const slot = path.join(work, 'slot');
/** The real files, without the root-only page-cache drop. */
const files: SlotFiles = { ...nodeSlotFiles, dropCaches: () => {} };

afterAll(() => rmSync(work, { recursive: true, force: true }));
beforeEach(() => {
  rmSync(slot, { recursive: true, force: true });
  mkdirSync(slot);
});

/** What the stick of a build holds, relative to its output folder: sizes past one tar block and a path past 100 bytes. */
const STICK: Record<string, Buffer> = {
  'linux_amd64/kiln-build': Buffer.from('0123456789abcdef'),
  'linux_amd64/node': randomBytes(70_000),
  'linux_amd64/lib/x86_64-linux-gnu/libstdc++.so.6': randomBytes(3000),
  [`src/programs/${'very-long-folder-name/'.repeat(6)}main.ts`]: Buffer.from('export {};\n'),
  'src/init/main.ts': Buffer.from(''),
};
const UKI = randomBytes(40_000);

async function slotTar(name = 'tree.tar', stick = STICK): Promise<Buffer> {
  const dir = path.join(work, `stick-${name}`);
  rmSync(dir, { recursive: true, force: true });
  for (const [file, bytes] of Object.entries(stick)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), bytes);
  }
  writeFileSync(path.join(work, 'BOOTX64.EFI'), UKI);
  const out = path.join(work, name);
  const scratch = path.join(work, `scratch-${name}`);
  mkdirSync(scratch, { recursive: true });
  await writeSlotTree({ arch: 'x86_64', efi: path.join(work, 'BOOTX64.EFI'), stickDir: dir, files: Object.keys(stick) }, out, scratch);
  return readFileSync(out);
}

const statementOf = (payload: Uint8Array, over: Partial<FirmwareStatement> = {}): FirmwareStatement => ({
  type: STATEMENT_TYPE,
  name: 'fleet',
  version: '1.1.0',
  buildId: 'b2',
  arch: 'x86_64',
  kiln: '0.1.0',
  size: payload.length,
  sha256: sha(payload),
  format: TREE_FORMAT,
  ...over,
});

async function* chunks(data: Uint8Array, size = 777): AsyncIterable<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

/** Every file under `dir`, relative, with its bytes. */
function tree(dir: string): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true }))
    if (e.isFile()) out[path.relative(dir, path.join(e.parentPath, e.name))] = readFileSync(path.join(e.parentPath, e.name));
  return out;
}

async function refusal(payload: Uint8Array, statement = statementOf(payload), target = { files, root: slot, efiFile: EFI_FILE }): Promise<UpdateRefused> {
  writeFileSync(path.join(slot, 'leftover'), 'x'); // what a failed install must not leave either
  const error = await writeTree(chunks(payload), statement, target).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof UpdateRefused)) throw new Error(`expected a refusal, got ${String(error)}`);
  expect(tree(slot)).toEqual({});
  return error;
}

describe('writeTree', () => {
  it('unpacks the host writer’s tar into the slot: every file, byte for byte, the UKI renamed into place last', async () => {
    const tar = await slotTar();
    // gzip (1f 8b), and the same bytes when written again elsewhere: the signed digest is a build's, not a run's.
    expect([...tar.subarray(0, 2)]).toEqual([0x1f, 0x8b]);
    expect((await slotTar('again.tar')).equals(tar)).toBe(true);
    const events: string[] = [];
    const watched: SlotFiles = {
      ...files,
      create: (f) => (events.push(`create ${path.relative(slot, f)}`), files.create(f)),
      rename: (a, b) => (events.push(`rename ${path.relative(slot, a)}`), files.rename(a, b)),
      dropCaches: () => void events.push('drop-caches'),
    };
    let seen = 0;
    const result = await writeTree(chunks(tar), statementOf(tar), { files: watched, root: slot, efiFile: EFI_FILE }, (n) => (seen = n));
    expect(tree(slot)).toEqual({ ...STICK, [EFI_FILE]: UKI });
    expect(result.efiSha256).toBe(sha(UKI));
    expect(seen).toBe(tar.length);
    expect(events.slice(-2)).toEqual(['drop-caches', `rename ${EFI_FILE}.new`]);
    expect(events.filter((e) => e.startsWith('create'))).toHaveLength(Object.keys(STICK).length + 1);
  });

  it.each([
    ['one flipped byte in a file', (t: Buffer) => flip(t, t.indexOf(STICK['linux_amd64/node']!.subarray(0, 64)) + 10), /SHA-256 .* is not the signed/],
    ['one flipped byte in a header', (t: Buffer) => flip(t, 0), /not a slot's tree|SHA-256 .* is not the signed|outside EFI/],
    ['cut in the middle of a file', (t: Buffer) => t.subarray(0, 20_000), /not a slot's tree|ended after/],
  ])('%s: refused, and the slot is left empty', async (_what, damage, message) => {
    const tar = await slotTar();
    const bad = damage(Buffer.from(tar));
    expect((await refusal(bad, statementOf(tar))).message).toMatch(message);
  });

  it('a payload longer than signed is refused as it comes', async () => {
    const tar = await slotTar();
    const error = await refusal(Buffer.concat([tar, Buffer.alloc(512)]), statementOf(tar));
    expect(error.message).toMatch(/longer than the statement's/);
  });

  it('a tree without this architecture’s UKI is refused', async () => {
    const tar = await slotTar();
    const error = await refusal(tar, statementOf(tar), { files, root: slot, efiFile: 'EFI/kiln/KILNAA64.EFI' });
    expect(error.message).toBe('the payload holds no EFI/kiln/KILNAA64.EFI: not a slot of this architecture');
  });

  it.each([
    ['a path with ..', ['--transform=s,^src/a,src/../../a,'], 'src/a', /"src\/\.\.\/\.\.\/a" is outside/],
    ['an absolute path', ['--absolute-names'], '/ABS', /"\/.*" is outside/],
    ['a folder a slot does not have', [], 'etc/passwd', /"etc\/passwd" is outside/],
    ['a symlink', [], 'src/link', /"src\/link" is a symlink; a slot holds only files/],
    ['a file twice', ['--hard-dereference'], 'src/a src/a', /holds src\/a twice/],
  ])('hostile archive, %s: refused before it lands anywhere but the slot', async (_what, flags, members, message) => {
    const dir = path.join(work, 'hostile');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(path.join(dir, 'src'), { recursive: true });
    mkdirSync(path.join(dir, 'etc'), { recursive: true });
    writeFileSync(path.join(dir, 'src/a'), 'a');
    writeFileSync(path.join(dir, 'etc/passwd'), 'root::0:0');
    writeFileSync('/tmp/kiln-install-tree-abs', 'abs');
    execFileSync('ln', ['-sfn', '/etc/shadow', path.join(dir, 'src/link')]);
    const names = members.split(' ').map((m) => (m === '/ABS' ? '/tmp/kiln-install-tree-abs' : m));
    const out = path.join(work, 'hostile.tar');
    execFileSync('tar', ['--create', `--file=${out}`, '--format=gnu', ...flags, '-C', dir, ...names], { stdio: 'ignore' });
    const tar = readFileSync(out);
    expect((await refusal(tar)).message).toMatch(message);
    expect(readdirSync(work)).not.toContain('a');
  });

  it('a full slot is 507 and leaves the slot empty; a slot that does not keep what was written is 500', async () => {
    const tar = await slotTar();
    let left = 50_000;
    const full: SlotFiles = {
      ...files,
      write(fd, bytes) {
        if ((left -= bytes.length) < 0) throw Object.assign(new Error('no space'), { code: 'ENOSPC' });
        files.write(fd, bytes);
      },
    };
    const noSpace = await refusal(tar, statementOf(tar), { files: full, root: slot, efiFile: EFI_FILE });
    expect([noSpace.status, noSpace.message]).toEqual([507, `the slot is full: the ${tar.length}-byte firmware does not fit it`]);
    const forgetful: SlotFiles = {
      ...files,
      *chunks(f) {
        for (const chunk of files.chunks(f)) yield Buffer.from(chunk).fill(0, 0, 1);
      },
    };
    const lost = await refusal(tar, statementOf(tar), { files: forgetful, root: slot, efiFile: EFI_FILE });
    expect(lost.status).toBe(500);
    expect(lost.message).toMatch(/^read back from the slot, .* is not what was written/);
  });
});

function flip(bytes: Buffer, at: number): Buffer {
  bytes[at]! ^= 1;
  return bytes;
}
