/**
 * The device's firmware pull (pull.ts, blob-download.ts) against a real HTTP registry on loopback
 * (testing/fake-registry.ts) serving artifacts made by the host's own writer (src/update/artifact.ts), installed by
 * the real statement check and payload writer (install.ts) into a temporary folder: the judge of the bytes is the
 * SHA-256 check the device runs, not this test.
 */
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EMPTY_CONFIG, firmwareArtifact } from '../../src/update/artifact.js';
import { signStatement } from '../../src/update/keys.js';
import { createLog } from '../base/log.ts';
import { parseBootConfig, type DeviceSettings } from '../contract/boot-config.ts';
import { OCI_INDEX, OCI_MANIFEST } from '../contract/oci/media-types.ts';
import type { UpdateStatus } from '../contract/update/status.ts';
import { STATEMENT_TYPE, type FirmwareStatement } from '../contract/update/statement.ts';
import { nodeSlotFiles } from '../sys/slot-files.ts';
import { fakeDataFs, type FakeDataFs } from '../testing/fake-data-fs.ts';
import { startFakeRegistry, type FakeRegistry } from '../testing/fake-registry.ts';
import { checkStatement, writePayload } from './install.ts';
import { startPolling, type Poller, type PullOptions } from './pull.ts';
import type { InstallRequest } from './stage.ts';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const SOURCE = 'fleet.example/fleet/gw:stable';
const STATE = '/data/kiln/update';
const work = mkdtempSync(path.join(tmpdir(), 'kiln-pull-'));
const slotFile = path.join(work, 'KILNX64.EFI');
const RUNNING = { name: 'gw', version: '1.0.0', buildId: 'b1', arch: 'x86_64' as const };
/** Fast limits: the hanging-registry test must not wait 30 s. */
const LIMITS = { idleMs: 300, retries: 3, retryDelayMs: 10 };

const hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A signed one-architecture artifact for `efi`, put in the registry under `tag`. */
function publish(registry: FakeRegistry, tag: string, efi: Uint8Array, over: Partial<FirmwareStatement> = {}) {
  const statement: FirmwareStatement = {
    type: STATEMENT_TYPE,
    name: 'gw',
    version: '1.1.0',
    buildId: 'b2',
    arch: 'x86_64',
    size: efi.length,
    sha256: hex(efi),
    kiln: '0.1.0',
    ...over,
  };
  const signed = signStatement(statement, privateKey);
  const artifact = firmwareArtifact([{ statementBytes: signed.bytes, signature: signed.signature }]);
  registry.blob(efi);
  registry.blob(EMPTY_CONFIG.bytes);
  for (const arch of artifact.arches) {
    registry.blob(arch.statementBlob.bytes);
    registry.manifest(arch.manifest.descriptor.digest, OCI_MANIFEST, arch.manifest.bytes);
  }
  registry.manifest(tag, OCI_INDEX, artifact.index.bytes);
  return { efiDigest: `sha256:${statement.sha256}`, manifestDigest: artifact.arches[0]!.manifest.descriptor.digest };
}

/** The update handle with the device's own statement check and payload writer, into a file in `work`. */
function slotHandle() {
  const installs: Omit<InstallRequest, 'payload'>[] = [];
  let pending: UpdateStatus['pending'];
  return {
    installs,
    setPending: (p: UpdateStatus['pending']) => void (pending = p),
    status: (): UpdateStatus => ({ available: true, running: RUNNING, slots: [], failed: [], ...(pending ? { pending } : {}) }),
    async install(request: InstallRequest) {
      installs.push({ statement: request.statement, signature: request.signature, force: request.force, reboot: request.reboot });
      const statement = checkStatement(request.statement, request.signature, RUNNING, {
        key: publicKey,
        allowDowngrade: false,
        failed: [],
        force: request.force,
      });
      await writePayload(request.payload, statement, { files: { ...nodeSlotFiles, dropCaches: () => {} }, file: slotFile });
      pending = { phase: 'installed', version: statement.version, buildId: statement.buildId, slot: 'B' };
      return { slot: 'B' as const, statement, rebooting: request.reboot };
    },
  };
}

interface Setup {
  registry: FakeRegistry;
  handle: ReturnType<typeof slotHandle>;
  poller: Poller;
  data: FakeDataFs;
  console: () => string;
  reboots: number;
  timers: { ms: number; fn: () => void; cancelled: boolean }[];
}

let registry: FakeRegistry;
let setups: Setup[] = [];
beforeEach(async () => {
  registry = await startFakeRegistry();
  rmSync(slotFile, { force: true });
});
afterEach(async () => {
  for (const s of setups) s.poller.stop();
  setups = [];
  await registry.close();
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** `update: null`: no source in the settings. */
function setup(update: DeviceSettings['update'] | null = { source: SOURCE, interval: 3600 }, options: PullOptions = {}, data = fakeDataFs()): Setup {
  const config = parseBootConfig(
    JSON.stringify({
      ...RUNNING,
      hostname: 'gw',
      kilnVersion: '0.1.0',
      modules: [],
      update: { publicKey: '/etc/kiln/update.pub', slotSize: '64M', healthSeconds: 30, stateDir: STATE, allowDowngrade: false },
    }),
  );
  let text = '';
  const settings: DeviceSettings = { hostname: 'gw', registries: { 'fleet.example': { mirror: registry.origin } }, ...(update ? { update } : {}) };
  const handle = slotHandle();
  const timers: Setup['timers'] = [];
  const s = { registry, handle, data, timers, reboots: 0, console: () => text } as Setup;
  s.poller = startPolling(
    handle,
    {
      config,
      data,
      log: createLog(
        (t) => (text += t),
        () => 1,
      ),
      settings: () => settings,
      onShutdown: () => {},
    },
    () => void (s.reboots += 1),
    {
      limits: LIMITS,
      random: () => 0.5,
      setTimer: (ms, fn) => {
        const timer = { ms, fn, cancelled: false };
        timers.push(timer);
        return () => void (timer.cancelled = true);
      },
      ...options,
    },
  );
  setups.push(s);
  return s;
}

const blobRequests = (r: FakeRegistry, digest: string) => r.requests.filter((line) => line.includes(`/blobs/${digest}`));
const warnings = (s: Setup) =>
  s
    .console()
    .split('\n')
    .filter((l) => / pull from /.test(l) && !/ is new | rebooting into /.test(l));

describe('startPolling', () => {
  it('a new digest: the EFI streamed into install, whole; recorded in pull.json; then the reboot', async () => {
    const efi = randomBytes(3 << 20);
    const { manifestDigest } = publish(registry, 'stable', efi);
    const s = setup();
    expect(s.timers.map((t) => t.ms)).toEqual([5_000 + 12_500]); // the first look, soon after boot (with jitter)
    expect(s.console()).toBe('kiln: update: pulling fleet.example/fleet/gw:stable every 3600 s (first look in 18 s)\n');

    expect(await s.poller.poll()).toBe('installed');
    expect(readFileSync(slotFile).equals(efi)).toBe(true);
    expect(s.handle.installs).toHaveLength(1);
    expect(s.handle.installs[0]).toMatchObject({ force: false, reboot: false });
    expect(JSON.parse(s.data.files.get(`${STATE}/pull.json`)!)).toMatchObject({
      source: SOURCE,
      digest: manifestDigest,
      outcome: 'installed',
      version: '1.1.0',
      buildId: 'b2',
    });
    expect(s.console()).toContain(
      `kiln: update: pull from ${SOURCE}: 1.1.0 (build b2) is new (manifest ${manifestDigest.slice(0, 19)}…): downloading 3.1 MB from ${registry.origin}\n`,
    );
    expect(s.console()).toContain(`kiln: update: pull from ${SOURCE}: rebooting into 1.1.0 (build b2)\n`);
    expect(s.reboots).toBe(1);
  });

  it('the same digest again: one small request, nothing else — also after a restart, from pull.json', async () => {
    const efi = randomBytes(1000);
    const { efiDigest } = publish(registry, 'stable', efi);
    const s = setup();
    await s.poller.poll();
    s.handle.setPending(undefined); // as after the reboot into it
    registry.requests.length = 0;
    expect(await s.poller.poll()).toBe('unchanged');
    expect(registry.requests).toEqual(['GET /v2/fleet/gw/manifests/stable']);

    const again = setup(undefined, {}, s.data);
    expect(await again.poller.poll()).toBe('unchanged');
    expect(again.handle.installs).toEqual([]);
    expect(blobRequests(registry, efiDigest)).toEqual([]);
  });

  it('a download cut halfway is resumed with Range from where it stopped, and the bytes are whole', async () => {
    const efi = randomBytes(2 << 20);
    const { efiDigest } = publish(registry, 'stable', efi);
    registry.trouble = (digest, attempt) => (digest === efiDigest && attempt === 1 ? { cutAfter: 1 << 20 } : undefined);
    const s = setup();
    expect(await s.poller.poll()).toBe('installed');
    expect(readFileSync(slotFile).equals(efi)).toBe(true);
    const requests = blobRequests(registry, efiDigest);
    expect(requests).toHaveLength(2);
    const resumedAt = Number(/range=bytes=(\d+)-$/.exec(requests[1]!)?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(1 << 20);
    expect(warnings(s)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^kiln: update: pull from ${SOURCE}: the download broke off after ${resumedAt} of ${efi.length} bytes \\(.+\\); resuming from there in 0\\.01 s \\(1 of 3\\)$`,
        ),
      ),
    ]);
  });

  it('a registry that hangs mid-download: the request is given up after the idle limit and resumed', async () => {
    const efi = randomBytes(1 << 20);
    const { efiDigest } = publish(registry, 'stable', efi);
    registry.trouble = (digest, attempt) => (digest === efiDigest && attempt === 1 ? { hangAfter: 300_000 } : undefined);
    const s = setup();
    expect(await s.poller.poll()).toBe('installed');
    expect(readFileSync(slotFile).equals(efi)).toBe(true);
    expect(blobRequests(registry, efiDigest)[1]).toMatch(/range=bytes=\d+-$/);
    expect(warnings(s)).toEqual([expect.stringMatching(/the download broke off after \d+ of 1048576 bytes \(no data for 0\.3 s\); resuming from there/)]);
  });

  it('a registry that ignores Range: the bytes already given are skipped', async () => {
    const efi = randomBytes(1 << 20);
    const { efiDigest } = publish(registry, 'stable', efi);
    registry.trouble = (digest, attempt) => (digest !== efiDigest ? undefined : attempt === 1 ? { cutAfter: 300_000 } : { ignoreRange: true });
    const s = setup();
    expect(await s.poller.poll()).toBe('installed');
    expect(readFileSync(slotFile).equals(efi)).toBe(true);
  });

  it('gives up after the bounded number of resumes: one line, nothing recorded, the next poll tries again', async () => {
    const efi = randomBytes(1 << 20);
    const { efiDigest } = publish(registry, 'stable', efi);
    registry.trouble = (digest) => (digest === efiDigest ? { cutAfter: 1000 } : undefined);
    const s = setup();
    expect(await s.poller.poll()).toBe('failed');
    expect(blobRequests(registry, efiDigest)).toHaveLength(1 + LIMITS.retries);
    expect(warnings(s).at(-1)).toMatch(
      new RegExp(
        `^kiln: update: pull from ${SOURCE}: the download of blob ${efiDigest.slice(0, 19)}… from ${registry.origin} broke off after \\d+ of 1048576 bytes \\(.+\\); gave up after 3 resumes; the next poll tries again$`,
      ),
    );
    expect(s.data.files.has(`${STATE}/pull.json`)).toBe(false);
    registry.trouble = undefined;
    expect(await s.poller.poll()).toBe('installed');
  });

  it('a refused firmware: one line, and the digest is not downloaded again until the source changes', async () => {
    const old = randomBytes(1000);
    const { efiDigest } = publish(registry, 'stable', old, { version: '0.9.0', buildId: 'b0' });
    const s = setup();
    expect(await s.poller.poll()).toBe('refused');
    expect(warnings(s)).toEqual([
      `kiln: update: pull from ${SOURCE}: 0.9.0 (build b0) refused: version 0.9.0 is older than the running 1.0.0 (update.allowDowngrade is off); not fetched again until the source changes`,
    ]);
    expect(blobRequests(registry, efiDigest)).toEqual([]); // refused on its statement: no byte of the EFI fetched
    expect(await s.poller.poll()).toBe('unchanged');
    expect(s.handle.installs).toHaveLength(1);

    publish(registry, 'stable', randomBytes(1000), { version: '1.2.0', buildId: 'b3' });
    expect(await s.poller.poll()).toBe('installed');
  });

  it('a statement signed with another key is refused with the device words', async () => {
    const efi = randomBytes(1000);
    const statement: FirmwareStatement = {
      type: STATEMENT_TYPE,
      name: 'gw',
      version: '1.1.0',
      buildId: 'b2',
      arch: 'x86_64',
      size: efi.length,
      sha256: hex(efi),
      kiln: '0.1.0',
    };
    const signed = signStatement(statement, generateKeyPairSync('ed25519').privateKey);
    const artifact = firmwareArtifact([{ statementBytes: signed.bytes, signature: signed.signature }]);
    registry.blob(efi);
    registry.blob(artifact.arches[0]!.statementBlob.bytes);
    registry.manifest(artifact.arches[0]!.manifest.descriptor.digest, OCI_MANIFEST, artifact.arches[0]!.manifest.bytes);
    registry.manifest('stable', OCI_INDEX, artifact.index.bytes);
    const s = setup();
    expect(await s.poller.poll()).toBe('refused');
    expect(warnings(s)).toEqual([
      expect.stringMatching(/: 1\.1\.0 \(build b2\) refused: the signature of 1\.1\.0 \(build b2\) is not from this device's update key/),
    ]);
  });

  it('the running firmware at the source: said once, nothing installed', async () => {
    publish(registry, 'stable', randomBytes(1000), { version: '1.0.0', buildId: 'b1' });
    const s = setup();
    expect(await s.poller.poll()).toBe('running');
    expect(await s.poller.poll()).toBe('unchanged');
    expect(s.handle.installs).toEqual([]);
    expect(s.console()).toContain(`kiln: update: pull from ${SOURCE}: 1.0.0 (build b1) is the running firmware\n`);
  });

  it('not a kiln artifact at the source: one line saying so, once', async () => {
    const image = new TextEncoder().encode(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${'c'.repeat(64)}`, size: 300 },
        layers: [],
      }),
    );
    registry.manifest('stable', OCI_MANIFEST, image);
    const s = setup();
    expect(await s.poller.poll()).toBe('not-firmware');
    expect(await s.poller.poll()).toBe('unchanged');
    expect(warnings(s)).toEqual([
      `kiln: update: pull from ${SOURCE}: not a kiln firmware artifact (artifactType "application/vnd.oci.image.config.v1+json", not "application/vnd.kiln.firmware.v1"); looking again when the source changes`,
    ]);
  });

  it('network failures and a missing tag: one line each, not remembered, tried again', async () => {
    const s = setup({ source: 'gone.example/fleet/gw:stable', interval: 30 });
    expect(await s.poller.poll()).toBe('failed');
    expect(warnings(s)).toEqual([
      'kiln: update: pull from gone.example/fleet/gw:stable: registry https://gone.example is unreachable (ENOTFOUND); the next poll tries again',
    ]);
    const t = setup({ source: SOURCE, interval: 30 });
    expect(await t.poller.poll()).toBe('failed');
    expect(await t.poller.poll()).toBe('failed');
    expect(warnings(t)).toEqual([
      `kiln: update: pull from ${SOURCE}: ${registry.origin} answered HTTP 404 for manifests stable; the next poll tries again`,
      `kiln: update: pull from ${SOURCE}: ${registry.origin} answered HTTP 404 for manifests stable; the next poll tries again`,
    ]);
  });

  it('outside the reboot window: installed at once, the reboot when the window opens', async () => {
    publish(registry, 'stable', randomBytes(1000));
    let now = Date.parse('2026-12-04T12:00:00Z');
    const s = setup({ source: SOURCE, interval: 3600, window: { start: '02:00', end: '04:00' } }, { wallNow: () => now });
    expect(await s.poller.poll()).toBe('installed');
    expect(s.reboots).toBe(0);
    expect(s.console()).toContain(`kiln: update: pull from ${SOURCE}: 1.1.0 (build b2) reboots when the window 02:00-04:00 UTC opens, in 840 min\n`);
    const wait = s.timers.at(-1)!;
    expect(wait.ms).toBe(14 * 3600 * 1000);
    now += wait.ms;
    wait.fn();
    expect(s.reboots).toBe(1);
  });

  it('polls skip while an update is received or on trial; without a source nothing is asked', async () => {
    publish(registry, 'stable', randomBytes(1000));
    const s = setup();
    s.handle.setPending({ phase: 'trying', version: '1.1.0', buildId: 'b2', slot: 'B' });
    expect(await s.poller.poll()).toBe('busy');
    registry.requests.length = 0;
    const off = setup(null);
    expect(await off.poller.poll()).toBe('off');
    expect(off.console()).toBe('');
    expect(registry.requests).toEqual([]);
  });

  it('schedules the next look every interval, with jitter, after each poll', async () => {
    publish(registry, 'stable', randomBytes(1000), { version: '1.0.0', buildId: 'b1' });
    const s = setup({ source: SOURCE, interval: 60 });
    s.timers[0]!.fn();
    await new Promise((r) => setTimeout(r, 200));
    expect(s.timers.map((t) => t.ms)).toEqual([5_000 + 12_500, 60_000]);
  });
});
