/**
 * `kiln keys`, `kiln update` and `kiln update status` as a user runs them (child processes), against the real
 * management server (device/api/management.ts) on loopback bound to a device whose update half records what it got:
 * the happy path, and each bad input giving one line, a non-zero exit and nothing written.
 */
import { createHash, createPublicKey, verify } from 'node:crypto';
import type * as http from 'node:http';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startManagementServer, type DeviceControl } from '../../device/api/management.ts';
import { UpdateRefused } from '../../device/update/install.ts';
import { parseStatement } from '../../device/contract/update/statement.ts';
import type { UpdateStatus } from '../../device/contract/update/status.ts';
import { appendSections } from '../formats/pe/index.js';
import { buildTinyPe } from '../formats/pe/_testing.js';
import { kiln } from '../../test/helpers/cli.js';
import { requireTools, startRegistry } from '../container-images/_testing.js';
import { silentReporter } from '../util/report.js';
import { loadPrivateKey, signStatement } from './keys.js';
import { parsePushTarget, pushFirmware } from './push.js';
import { statementOf } from './release.js';

const TOKEN = 'kiln-update-test-token-0123';
const SLOW = { timeout: 120_000 };
let work: string;
let server: http.Server;
let port: number;
const received: { statement: Uint8Array; signature: Uint8Array; bytes: Buffer }[] = [];
let refuseWith: UpdateRefused | undefined;

const status = (): UpdateStatus => ({
  available: true,
  running: { version: '1.0.0', buildId: 'b1', slot: 'A' },
  slots: [
    { name: 'A', version: '1.0.0', buildId: 'b1', booted: true, committed: true, entry: 7 },
    { name: 'B', booted: false, committed: false, entry: 8 },
  ],
  last: received.length > 0 ? { outcome: 'committed', version: '1.1.0', buildId: 'b2', at: '2026-12-04T00:00:00.000Z' } : undefined,
  failed: [],
});

const device = {
  status: () => ({ name: 'fleet', arch: 'x86_64' }),
  containers: () => [],
  inspect: () => undefined,
  start: () => false,
  stop: async () => false,
  restart: async () => false,
  logs: () => undefined,
  follow: () => () => {},
  reload() {},
  reboot() {},
  poweroff() {},
  update: {
    status,
    async install(request) {
      if (refuseWith !== undefined) throw refuseWith;
      const chunks: Buffer[] = [];
      for await (const chunk of request.payload) chunks.push(Buffer.from(chunk));
      received.push({ statement: request.statement, signature: request.signature, bytes: Buffer.concat(chunks) });
      const s = parseStatement(request.statement);
      return { slot: 'B', statement: s, rebooting: false };
    },
  },
} satisfies DeviceControl;

/** A PE like a kiln UKI as far as `kiln update` reads one: the machine type and an .osrel section. */
function fakeUki(osrel: string): Uint8Array {
  return appendSections(buildTinyPe(), [{ name: '.osrel', data: new TextEncoder().encode(osrel) }]);
}

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'kiln-update-cli-'));
  server = await startManagementServer({ port: 0 }, device, () => TOKEN);
  port = (server.address() as { port: number }).port;
  await writeFile(path.join(work, 'BOOTX64.EFI'), fakeUki('ID=kiln\nIMAGE_ID=fleet\nIMAGE_VERSION=1.1.0\nBUILD_ID=b2\n'));
  await writeFile(path.join(work, 'other.efi'), fakeUki('ID=debian\n'));
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(work, { recursive: true, force: true });
});

const update = (args: string[]) => kiln(['update', '--device', `127.0.0.1:${port}`, ...args], { env: { KILN_TOKEN: TOKEN }, cwd: work });

describe('kiln keys', () => {
  test('makes the pair once; a second run refuses and changes nothing', SLOW, async () => {
    const first = await kiln(['keys', '--out', 'keys'], { cwd: work });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^private key: keys\/update.key \(keep it off the devices\)\npublic key: {2}keys\/update.pub/);
    const key = await readFile(path.join(work, 'keys/update.key'), 'utf8');
    const again = await kiln(['keys', '--out', 'keys'], { cwd: work });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^kiln: error: .*keys\/update.key already exists; kiln keys never overwrites a signing key\n/);
    expect(await readFile(path.join(work, 'keys/update.key'), 'utf8')).toBe(key);
    expect((await readdir(path.join(work, 'keys'))).sort()).toEqual(['update.key', 'update.pub']);
  });
});

describe('kiln update --device', () => {
  test('sends the EFI with a statement the public key verifies, and says where it went', SLOW, async () => {
    const r = await update(['--key', 'keys/update.key', 'BOOTX64.EFI', '-q']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/: 1\.1\.0 \(build b2\) installed in slot B; the next reboot tries it\n$/);
    const got = received.at(-1)!;
    const efi = await readFile(path.join(work, 'BOOTX64.EFI'));
    expect(got.bytes).toEqual(efi);
    expect(parseStatement(got.statement)).toMatchObject({
      name: 'fleet',
      version: '1.1.0',
      buildId: 'b2',
      arch: 'x86_64',
      size: efi.length,
      sha256: createHash('sha256').update(efi).digest('hex'),
    });
    const pub = createPublicKey(await readFile(path.join(work, 'keys/update.pub'), 'utf8'));
    expect(verify(null, got.statement, pub, got.signature)).toBe(true);
  });

  test('an output folder: the EFI of the device architecture in it', SLOW, async () => {
    const r = await update(['--key', 'keys/update.key', '.', '-q']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/1\.1\.0 \(build b2\) installed in slot B/);
  });

  test.each([
    [['BOOTX64.EFI'], /--key FILE is required: the device installs only signed firmware/],
    [['--key', 'keys/update.pub', 'BOOTX64.EFI'], /--key .*update.pub: not a PEM private key/],
    [['--key', 'keys/missing.key', 'BOOTX64.EFI'], /--key .*missing.key: cannot read \(ENOENT\)/],
    [['--key', 'keys/update.key', 'other.efi'], /other.efi: not a firmware kiln built/],
    [['--key', 'keys/update.key', 'nothing.efi'], /nothing.efi: cannot read \(ENOENT\)/],
  ])('%j: one line, exit 1, nothing sent', SLOW, async (args, message) => {
    const before = received.length;
    const r = await update(args);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toMatch(message);
    expect(r.stdout).toBe('');
    expect(received.length).toBe(before);
  });

  test("the device's refusal is the one line the user sees", SLOW, async () => {
    refuseWith = new UpdateRefused(403, "the signature of 1.1.0 (build b2) is not from this device's update key");
    try {
      const r = await update(['--key', 'keys/update.key', 'BOOTX64.EFI', '-q']);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        `kiln: error: 127.0.0.1:${port}: POST /v1/update failed with HTTP 403: the signature of 1.1.0 (build b2) is not from this device's update key\n`,
      );
    } finally {
      refuseWith = undefined;
    }
  });

  test('a device that is not there', SLOW, async () => {
    const r = await kiln(['update', '--device', '127.0.0.1:1', '--key', 'keys/update.key', 'BOOTX64.EFI'], { env: { KILN_TOKEN: TOKEN }, cwd: work });
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toMatch(/^kiln: error: 127\.0\.0\.1:1: connection refused/);
  });

  test('a registry reference: what kiln push published goes to the device as it is, signature and all', SLOW, async () => {
    requireTools(['docker-registry']);
    const registry = await startRegistry(path.join(work, 'registry'));
    try {
      const efi = path.join(work, 'BOOTX64.EFI');
      const statement = await statementOf({ name: 'fleet', arch: 'x86_64', buildId: 'b3' }, '1.2.0', { file: efi, size: (await readFile(efi)).length });
      const key = await loadPrivateKey(path.join(work, 'keys/update.key'));
      const signed = signStatement(statement, key);
      await pushFirmware(
        parsePushTarget(`http://${registry.host}/fleet/app:1.2.0`),
        [{ payloadPath: efi, statementBytes: signed.bytes, signature: signed.signature }],
        {
          reporter: silentReporter,
        },
      );
      const before = received.length;
      const r = await update([`http://${registry.host}/fleet/app:1.2.0`, '-q']);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/1\.2\.0 \(build b3\) installed in slot B/);
      const got = received.at(-1)!;
      expect(received.length).toBe(before + 1);
      expect(got.bytes).toEqual(await readFile(efi));
      expect(Buffer.from(got.statement)).toEqual(Buffer.from(signed.bytes));
      expect(Buffer.from(got.signature)).toEqual(Buffer.from(signed.signature));
      const missing = await update([`http://${registry.host}/fleet/none:1`]);
      expect(missing.code).toBe(1);
      expect(missing.stderr.split('\n')[0]).toMatch(/^kiln: error: 127\.0\.0\.1:\d+\/fleet\/none: the tag: HTTP 404$/);
    } finally {
      await registry.stop();
    }
  });

  test('kiln update status: the slots, both ways of writing the options', SLOW, async () => {
    for (const args of [
      ['update', 'status', '--device', `127.0.0.1:${port}`],
      ['update', '--device', `127.0.0.1:${port}`, 'status'],
    ]) {
      const r = await kiln(args, { env: { KILN_TOKEN: TOKEN }, cwd: work });
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^slot A: {5}1\.0\.0 \(build b1\), booted, committed, Boot0007\nslot B: {5}\(unknown\), Boot0008\n/);
    }
  });
});
