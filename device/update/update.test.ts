/**
 * The update logic against fakes: which slot a boot means (state.ts), kiln's boot entries (boot-entries.ts), the
 * checks before and while a firmware is written (install.ts), the health gate (health.ts) and the GPT entry read
 * (slots.ts, judged by the host's own GPT encoder).
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeGpt, GptPartitionType } from '../../src/formats/gpt/index.js';
import { decodeLoadOption } from '../contract/efi/load-option.ts';
import { decodeBootOrder, decodeEfivarfsFile, efivarfsName, encodeBootOrder, encodeEfivarfsFile } from '../contract/efi/variables.ts';
import { encodeStatement, type FirmwareStatement } from '../contract/update/statement.ts';
import { fakeEfiVars } from '../testing/fake-efivars.ts';
import { fakeDataFs } from '../testing/fake-data-fs.ts';
import { assertEntries, readBootOrder, setBootNext, type SlotEntry } from './boot-entries.ts';
import { healthProblem, runHealthGate } from './health.ts';
import { checkStatement, UpdateRefused, writePayload, type Running } from './install.ts';
import { partitionGuidFromGpt, type Slot } from './slots.ts';
import { replaceFile } from './fallback.ts';
import { decideBoot, EMPTY_STATE, loadState, saveState, type UpdateState } from './state.ts';
import type { SlotFiles } from '../sys/slot-files.ts';

const AT = '2026-12-04T00:00:00.000Z';
const V1 = { version: '1.0.0', buildId: 'b1' };
const V2 = { version: '1.1.0', buildId: 'b2' };

describe('decideBoot', () => {
  it('the first boot from the ESP fallback commits slot A, which holds the same build', () => {
    const d = decideBoot(EMPTY_STATE, 'fallback', V1, AT);
    expect(d.state.committed).toEqual({ slot: 'A', ...V1 });
    expect(d.trial).toBe(false);
    // The ESP holds what runs: no copy of the fallback is due.
    expect(d.state.fallback).toBe(V1.buildId);
    expect(decideBoot(EMPTY_STATE, 'A', V1, AT).state.fallback).toBeUndefined();
  });

  it('booting the pending slot with the pending build is its trial; BootOrder is not touched by the decision', () => {
    const before: UpdateState = {
      committed: { slot: 'A', ...V1 },
      contents: { A: V1 },
      failed: [],
      pending: { slot: 'B', ...V2, sha256: 'x', size: 1, phase: 'installed' },
    };
    const d = decideBoot(before, 'B', V2, AT);
    expect(d.trial).toBe(true);
    expect(d.state.pending?.phase).toBe('trying');
    expect(d.state.committed).toEqual({ slot: 'A', ...V1 });
  });

  it('landing on the committed slot with an update pending is a rollback: remembered, not retried, with why', () => {
    for (const [phase, why] of [
      ['installed', /did not start build b2 .* as far as its update stage/],
      ['trying', /crashed, hung \(watchdog\) or rebooted during its trial/],
    ] as const) {
      const before: UpdateState = {
        committed: { slot: 'A', ...V1 },
        contents: { A: V1 },
        failed: [],
        pending: { slot: 'B', ...V2, sha256: 'x', size: 1, phase },
      };
      const d = decideBoot(before, 'A', V1, AT);
      expect(d.trial).toBe(false);
      expect(d.state.pending).toBeUndefined();
      expect(d.state.failed).toEqual(['b2']);
      expect(d.state.last).toMatchObject({ outcome: 'rolled-back', ...V2 });
      expect(d.state.last?.reason).toMatch(why);
      expect(d.state.committed?.slot).toBe('A');
    }
  });

  it('an ordinary boot of the committed slot changes nothing', () => {
    const before: UpdateState = { committed: { slot: 'B', ...V2 }, contents: { A: V1, B: V2 }, failed: ['b9'] };
    expect(decideBoot(before, 'B', V2, AT)).toEqual({ state: before, trial: false });
  });
});

describe('update state on DATA', () => {
  it('round-trips through replaceFile and sets an unreadable file aside instead of failing the boot', () => {
    const data = fakeDataFs();
    const state: UpdateState = { committed: { slot: 'A', ...V1 }, contents: { A: V1 }, failed: [] };
    saveState(data, '/data/u', state);
    expect(loadState(data, '/data/u', () => {})).toEqual(state);
    data.files.set('/data/u/state.json', '{"half');
    const warnings: string[] = [];
    expect(loadState(data, '/data/u', (w) => warnings.push(w))).toEqual(EMPTY_STATE);
    expect(warnings[0]).toMatch(/state.json was unreadable .* kept as \/data\/u\/state.json.unreadable/);
    expect(data.files.has('/data/u/state.json.unreadable')).toBe(true);
  });
});

const slot = (name: 'A' | 'B', number: number, guid: string): Slot => ({
  name,
  label: `KILN_${name}`,
  device: `/dev/vda${number}`,
  disk: '/dev/vda',
  partitionNumber: number,
  startLba: number * 131072,
  sizeLba: 131072,
  partitionGuid: guid,
});
const SLOTS = { A: slot('A', 2, '11111111-2222-3333-4444-555555555555'), B: slot('B', 3, 'AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE') };
const entries = (text = ''): Record<'A' | 'B', SlotEntry> => ({
  A: { slot: SLOTS.A, description: `kiln A${text}`, loaderPath: '\\EFI\\kiln\\KILNX64.EFI' },
  B: { slot: SLOTS.B, description: `kiln B${text}`, loaderPath: '\\EFI\\kiln\\KILNX64.EFI' },
});
const bootVar = (data: Uint8Array) => encodeEfivarfsFile({ attributes: 7, data });

describe('boot entries', () => {
  it('creates one entry per slot at free numbers, puts the committed slot first and keeps the rest of BootOrder', () => {
    const vars = fakeEfiVars({ [efivarfsName('Boot0000')]: bootVar(Uint8Array.of(1, 0, 0, 0)), [efivarfsName('BootOrder')]: bootVar(encodeBootOrder([0])) });
    const first = assertEntries(vars, entries(), 'B');
    expect(first.numbers).toEqual({ A: 1, B: 2 });
    expect(readBootOrder(vars)).toEqual([2, 1, 0]);
    const a = decodeLoadOption(decodeEfivarfsFile(vars.vars.get(efivarfsName('Boot0001'))!).data);
    expect(a.description).toBe('kiln A');
    expect(a.filePath).toEqual([
      { kind: 'hard-drive', partitionNumber: 2, startLba: 262144, sizeLba: 131072, partitionGuid: SLOTS.A.partitionGuid },
      { kind: 'file', path: '\\EFI\\kiln\\KILNX64.EFI' },
    ]);
  });

  it('re-asserting writes nothing when the bytes are already right, and only what differs otherwise', () => {
    const vars = fakeEfiVars();
    assertEntries(vars, entries(), 'A');
    vars.events.length = 0;
    expect(assertEntries(vars, entries(), 'A').written).toEqual([]);
    expect(vars.events).toEqual([]);
    expect(assertEntries(vars, entries(' 1.1.0'), 'B').written).toEqual(['Boot0000', 'Boot0001', 'BootOrder']);
    // An entry the firmware removed (after a power cut, or QEMU's bootindex pruning) comes back at its number.
    vars.remove(efivarfsName('Boot0001'));
    expect(assertEntries(vars, entries(' 1.1.0'), 'B')).toEqual({ numbers: { A: 0, B: 1 }, written: ['Boot0001'] });
  });

  it('BootNext is one UINT16 the firmware consumes', () => {
    const vars = fakeEfiVars();
    setBootNext(vars, 0x0102);
    expect(Buffer.from(vars.vars.get(efivarfsName('BootNext'))!).toString('hex')).toBe('070000000201');
    expect(decodeBootOrder(Uint8Array.of(2, 1))).toEqual([0x0102]);
  });

  it('a store that refuses writes throws with the kernel code, so the stage can say updates are unavailable', () => {
    const vars = fakeEfiVars();
    vars.failWrites = 'EROFS';
    expect(() => assertEntries(vars, entries(), 'A')).toThrow(expect.objectContaining({ code: 'EROFS' }));
  });
});

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');
const RUNNING: Running = { name: 'fleet', arch: 'x86_64', ...V1 };
const POLICY = { key: publicKey, allowDowngrade: false, failed: [] as string[], force: false };
const payload = Buffer.from('kiln firmware '.repeat(1000));
const statementOf = (over: Partial<FirmwareStatement> = {}): FirmwareStatement => ({
  type: 'kiln-firmware/v1',
  name: 'fleet',
  arch: 'x86_64',
  kiln: '0.1.0',
  size: payload.length,
  sha256: createHash('sha256').update(payload).digest('hex'),
  ...V2,
  ...over,
});
const signed = (s: FirmwareStatement, key = privateKey) => {
  const bytes = encodeStatement(s);
  return { bytes, signature: new Uint8Array(sign(null, bytes, key)) };
};

describe('checkStatement: refused before a byte is written', () => {
  it('accepts a signed, newer firmware of this device', () => {
    const { bytes, signature } = signed(statementOf());
    expect(checkStatement(bytes, signature, RUNNING, POLICY).buildId).toBe('b2');
  });

  it.each([
    ['unsigned', () => ({ bytes: encodeStatement(statementOf()), signature: new Uint8Array(64) }), 403, /not from this device's update key/],
    ['signed with another key', () => signed(statementOf(), other.privateKey), 403, /not from this device's update key/],
    [
      'altered after signing',
      () => {
        const s = signed(statementOf());
        const bytes = Buffer.from(s.bytes);
        bytes[bytes.indexOf('1.1.0') + 2] = '9'.charCodeAt(0);
        return { bytes: new Uint8Array(bytes), signature: s.signature };
      },
      403,
      /not from this device's update key/,
    ],
    ['for another architecture', () => signed(statementOf({ arch: 'aarch64' })), 400, /is for aarch64; this device is x86_64/],
    ['another firmware', () => signed(statementOf({ name: 'kiosk' })), 400, /firmware "kiosk"; this device runs "fleet"/],
    ['older', () => signed(statementOf({ version: '0.9.9' })), 409, /0.9.9 is older than the running 1.0.0/],
    ['the running build', () => signed(statementOf({ buildId: 'b1' })), 409, /already running/],
    ['not a statement at all', () => ({ bytes: new TextEncoder().encode('{"schemaVersion":2}'), signature: new Uint8Array(64) }), 400, /not a kiln firmware/],
  ])('%s', (_what, make, status, message) => {
    const { bytes, signature } = make();
    const refusal = (() => {
      try {
        checkStatement(bytes, signature, RUNNING, POLICY);
      } catch (error) {
        return error as UpdateRefused;
      }
      throw new Error('accepted');
    })();
    expect(refusal).toBeInstanceOf(UpdateRefused);
    expect(refusal.status).toBe(status);
    expect(refusal.message).toMatch(message);
  });

  it('a build that failed its trial needs force; a downgrade needs allowDowngrade', () => {
    const { bytes, signature } = signed(statementOf());
    expect(() => checkStatement(bytes, signature, RUNNING, { ...POLICY, failed: ['b2'] })).toThrow(/failed its trial before/);
    expect(checkStatement(bytes, signature, RUNNING, { ...POLICY, failed: ['b2'], force: true }).buildId).toBe('b2');
    const old = signed(statementOf({ version: '0.1' }));
    expect(checkStatement(old.bytes, old.signature, RUNNING, { ...POLICY, allowDowngrade: true }).version).toBe('0.1');
  });
});

function memorySlot(options: { spaceLeft?: number; corruptReadBack?: boolean } = {}): SlotFiles & { files: Map<string, Buffer>; events: string[] } {
  const files = new Map<string, Buffer>();
  const open = new Map<number, string>();
  const events: string[] = [];
  let fd = 3;
  let left = options.spaceLeft ?? Infinity;
  return {
    files,
    events,
    create(file) {
      files.set(file, Buffer.alloc(0));
      open.set(++fd, file);
      return fd;
    },
    write(n, bytes) {
      if (bytes.length > left) throw Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' });
      left -= bytes.length;
      const file = open.get(n)!;
      files.set(file, Buffer.concat([files.get(file)!, bytes]));
    },
    fsync: (n) => void events.push(`fsync ${open.get(n)}`),
    close: (n) => void open.delete(n),
    rename(from, to) {
      files.set(to, options.corruptReadBack ? Buffer.from('x') : files.get(from)!);
      files.delete(from);
      events.push(`rename ${from} ${to}`);
    },
    remove: (file) => void files.delete(file),
    clear(dir) {
      for (const file of files.keys()) if (file.startsWith(`${dir}/`)) files.delete(file);
      events.push(`clear ${dir}`);
    },
    exists: (file) => files.has(file),
    fsyncDir: (dir) => void events.push(`fsync-dir ${dir}`),
    size: (file) => files.get(file)!.length,
    freeBytes: () => left,
    dropCaches: () => void events.push('drop-caches'),
    *chunks(file) {
      yield files.get(file)!;
    },
  };
}

async function* chunks(data: Buffer, size = 1000): AsyncIterable<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

describe('writePayload', () => {
  const FILE = '/run/kiln/slot/EFI/kiln/KILNX64.EFI';

  it('streams into a temporary file, fsyncs, renames, drops caches and reads back', async () => {
    const slotFs = memorySlot();
    await writePayload(chunks(payload), statementOf(), { files: slotFs, file: FILE });
    expect(slotFs.files.get(FILE)).toEqual(payload);
    expect(slotFs.events).toEqual([`fsync ${FILE}.new`, `rename ${FILE}.new ${FILE}`, 'fsync-dir /run/kiln/slot/EFI/kiln', 'drop-caches']);
  });

  it.each([
    ['a flipped byte', () => Buffer.from(payload.map((b, i) => (i === 500 ? b ^ 1 : b))), /SHA-256 .* is not the signed/],
    ['a cut payload', () => payload.subarray(0, 5000), /ended after 5000 of 14000 bytes/],
    ['a longer payload', () => Buffer.concat([payload, Buffer.from('!')]), /longer than the statement's 14000 bytes/],
  ])('%s: refused, the old executable stays, no temporary file is left', async (_what, make, message) => {
    const slotFs = memorySlot();
    slotFs.files.set(FILE, Buffer.from('old'));
    await expect(writePayload(chunks(make()), statementOf(), { files: slotFs, file: FILE })).rejects.toThrow(message);
    expect([...slotFs.files.keys()]).toEqual([FILE]);
    expect(slotFs.files.get(FILE)!.toString()).toBe('old');
  });

  it('a full slot and a read-back that differs are refused with what happened', async () => {
    await expect(writePayload(chunks(payload), statementOf(), { files: memorySlot({ spaceLeft: 3000 }), file: FILE })).rejects.toThrow(
      /slot is full after 4000 bytes/,
    );
    await expect(writePayload(chunks(payload), statementOf(), { files: memorySlot({ corruptReadBack: true }), file: FILE })).rejects.toThrow(
      /did not keep what was written/,
    );
  });
});

describe('the ESP fallback after a commit', () => {
  it('is replaced through a temporary file; a failed copy leaves the old one whole', async () => {
    const files = memorySlot();
    files.files.set('/slot/K.EFI', Buffer.from('v2'));
    files.files.set('/esp/EFI/BOOT/BOOTX64.EFI', Buffer.from('v1'));
    await expect(replaceFile(files, '/slot/K.EFI', '/esp/EFI/BOOT/BOOTX64.EFI')).resolves.toMatchObject({ size: 2, inPlace: false });
    expect(files.files.get('/esp/EFI/BOOT/BOOTX64.EFI')!.toString()).toBe('v2');
    expect(files.events).toEqual([
      'fsync /esp/EFI/BOOT/BOOTX64.EFI.new',
      'rename /esp/EFI/BOOT/BOOTX64.EFI.new /esp/EFI/BOOT/BOOTX64.EFI',
      'fsync-dir /esp/EFI/BOOT',
      'drop-caches',
    ]);
    const broken = memorySlot();
    broken.files.set('/slot/K.EFI', Buffer.from('v2'));
    broken.files.set('/esp/B.EFI', Buffer.from('v1'));
    broken.write = () => {
      throw Object.assign(new Error('EIO'), { code: 'EIO' });
    };
    await expect(replaceFile(broken, '/slot/K.EFI', '/esp/B.EFI')).rejects.toThrow('EIO');
    expect([...broken.files.entries()].map(([k, v]) => `${k}=${v}`)).toEqual(['/slot/K.EFI=v2', '/esp/B.EFI=v1']);
  });

  it('an ESP without room for both has the old fallback removed first, then written the same way', async () => {
    const small = memorySlot({ spaceLeft: 1000 });
    small.files.set('/slot/K.EFI', Buffer.from('v2'));
    small.files.set('/esp/B.EFI', Buffer.from('v1'));
    await expect(replaceFile(small, '/slot/K.EFI', '/esp/B.EFI')).resolves.toMatchObject({ size: 2, inPlace: true });
    expect(small.files.get('/esp/B.EFI')!.toString()).toBe('v2');
  });
});

describe('health gate', () => {
  const view = (list: { name: string; state: string; health?: { state: string; last?: string } }[]) => ({ containers: () => list });

  it('names the first required container that is not running or not healthy', () => {
    expect(healthProblem(view([{ name: 'web', state: 'running', health: { state: 'healthy' } }]), undefined)).toBeUndefined();
    expect(healthProblem(view([{ name: 'web', state: 'exited' }]), undefined)).toBe('container web is exited');
    expect(healthProblem(view([{ name: 'web', state: 'running', health: { state: 'unhealthy', last: 'HTTP 500' } }]), undefined)).toBe(
      'container web is unhealthy (HTTP 500)',
    );
    expect(healthProblem(view([]), ['db'])).toBe('required container db does not exist in this firmware');
    expect(healthProblem(view([{ name: 'web', state: 'exited' }]), [])).toBeUndefined();
  });

  it('passes after `seconds` healthy in a row, fails at its deadline with the last reason', async () => {
    let t = 0;
    const clock = { now: () => t, sleep: async (ms: number) => void (t += ms), log: { info() {} } };
    let state = 'starting';
    const flaky = { containers: () => [{ name: 'web', state: 'running', health: { state: (t >= 5000 ? 'healthy' : state) as string } }] };
    expect(await runHealthGate(flaky, { seconds: 10, ...clock })).toBeUndefined();
    expect(t).toBe(15000);
    t = 0;
    state = 'unhealthy';
    const never = { containers: () => [{ name: 'web', state: 'running', health: { state } }] };
    expect(await runHealthGate(never, { seconds: 10, ...clock })).toBe('container web is unhealthy after 80 s');
  });
});

describe('partitionGuidFromGpt', () => {
  it('reads the unique GUID of an entry of a GPT the host encoder wrote', () => {
    const gpt = encodeGpt({
      seed: 'slots',
      diskSizeBytes: 256 * 1024 * 1024,
      partitions: [
        { type: GptPartitionType.efiSystem, name: 'ESP', sizeBytes: 64 << 20 },
        { type: GptPartitionType.microsoftBasicData, name: 'KILN_A', sizeBytes: 64 << 20, guid: '0FC63DAF-8483-4772-8E79-3D69D8477DE4' },
      ],
    });
    expect(partitionGuidFromGpt(gpt.head, 2).toUpperCase()).toBe('0FC63DAF-8483-4772-8E79-3D69D8477DE4');
    expect(() => partitionGuidFromGpt(gpt.head, 200)).toThrow(/entry 200 of 128/);
    expect(() => partitionGuidFromGpt(new Uint8Array(17408), 1)).toThrow('Cannot decode GPT header at 0x200: no "EFI PART" signature at LBA 1');
  });
});
