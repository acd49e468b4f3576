/**
 * End to end: the secondary config, the persisted logs and sysctl on a device booting from its own disk, kept across
 * three boots with `kiln run CONFIG --keep-disk`, powered off cleanly each time (the power button):
 *   1. first boot: the default secondary is written to DATA and applied (hostname, sysctl read back)
 *   2. an edit made on the host (debugfs) takes effect; it becomes the last known good copy
 *   3. an invalid edit: a clear console error with file:line:col, the last known good copy used, the boot reaches ready
 * then `kiln logs` reads all three boots back from the disk image. Boots take ~60-120 s under TCG.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { validateSecondary } from '../../device/contract/config/validate-secondary.ts';
import { ext4Partitions, openExt4 } from '../../src/logs/disk-logs.js';
import { KILN_FROM_SOURCE, kiln } from '../helpers/cli.js';

const root = path.resolve(import.meta.dirname, '../..');
const SECONDARY = '/data/kiln/secondary.yml';
let work: string;
let config: string;
let state: string;

const CONFIG = `name: secondary-e2e
hostname: e2e-primary
storage:
  partitions:
    - { label: ESP, filesystem: vfat, size: 64M, esp: true }
    - { label: DATA, filesystem: ext4, size: rest, mount: /data }
secondary:
  path: ${SECONDARY}
  default:
    hostname: e2e-default
    sysctl:
      vm.swappiness: 13
sysctl:
  vm.swappiness: 60
  net.ipv4.ip_fowrard: 1
logs:
  path: /data/log
  maxBytes: 65536
  keep: 2
`;

/** Boots `config` on the kept disk until ready, then presses the power button (SIGTERM to kiln run). */
function boot(): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const args = ['run', config, '--keep-disk', state, '--out', path.join(work, 'out'), '--timeout', '400'];
    const child = spawn(process.execPath, [...KILN_FROM_SOURCE, ...args], { cwd: root, env: { ...process.env, CI: 'true' } });
    let out = '';
    let err = '';
    let stopping = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (!stopping && /kiln: ready in \d+ ms/.test(out)) {
        stopping = true;
        setTimeout(() => child.kill('SIGTERM'), 1000);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out: out.replace(/\r/g, ''), err }));
  });
}

/** A file of the DATA partition of the kept disk, read on the host. */
async function readOnDisk(file: string): Promise<string | undefined> {
  const [data] = await ext4Partitions(state);
  const fs = await openExt4(state, data!);
  try {
    return await fs.read(file);
  } finally {
    await fs.close();
  }
}

/** Replaces a file on the DATA partition of the kept disk, as an operator with the disk on a host would. */
async function writeOnDisk(file: string, text: string): Promise<void> {
  const [data] = await ext4Partitions(state);
  const local = path.join(work, 'edit.yml');
  await writeFile(local, text);
  const debugfs = ['/usr/sbin/debugfs', '/sbin/debugfs'].find(existsSync) ?? 'debugfs';
  execFileSync(debugfs, ['-w', '-f', '-', `${state}?offset=${data!.offsetBytes}`], {
    input: `rm ${file}\nwrite ${local} ${file}\n`,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  expect(await readOnDisk(file)).toBe(text);
}

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'kiln-secondary-e2e-'));
  config = path.join(work, 'kiln.yml');
  state = path.join(work, 'state.img');
  await writeFile(config, CONFIG);
  await copyFile(path.join(root, 'examples/kiln.lock'), path.join(work, 'kiln.lock'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('secondary config, logs and sysctl across boots of one disk', () => {
  test('first boot: the default is written to DATA and applied; sysctl set, read back, a bad name reported', async () => {
    const r = await boot();
    expect(r.out).toContain(`kiln: secondary: ${SECONDARY}: first boot, wrote the default; sets hostname, sysctl (`);
    expect(r.out).toContain('kiln: logs: level info; /data/log/init.log and kernel.log (rotated at 64 KiB, 2 kept) (');
    expect(r.out).toContain('kiln: sysctl: net.ipv4.ip_fowrard: no such setting\n');
    // The secondary's 13 wins over the primary's 60, and is what the kernel reads back.
    expect(r.out).toContain('kiln: sysctl: 1 set: vm.swappiness=13; 1 failed: net.ipv4.ip_fowrard (');
    expect(r.out).toContain('kiln: hostname: e2e-default (');
    expect(r.out).not.toContain('kiln: sysctl: vm.swappiness = '); // a debug line; the level is info
    expect(r.out).toMatch(/kiln: ready in \d+ ms\n/);
    expect(r.out).toMatch(/reboot: Power down/);
    expect(r.code).toBe(0);

    const written = await readOnDisk('/kiln/secondary.yml');
    expect(written).toMatch(/^# Secondary config of secondary-e2e: /);
    expect(validateSecondary(SECONDARY, written!)).toEqual({ ok: true, secondary: { hostname: 'e2e-default', sysctl: { 'vm.swappiness': 13 } } });
  }, 600_000);

  test('an edit made on the host takes effect at the next boot and becomes the last known good copy', async () => {
    const edit = 'hostname: e2e-edited\nsysctl:\n  vm.swappiness: 21\nlog:\n  level: debug\n';
    await writeOnDisk('/kiln/secondary.yml', edit);
    const r = await boot();
    expect(r.out).toContain(`kiln: secondary: ${SECONDARY}: sets hostname, sysctl, log (`);
    expect(r.out).toContain('kiln: logs: level debug; /data/log/init.log');
    // The summary line is a warning (one setting failed), which the kernel also echoes from /dev/kmsg: one run saw
    // it cut by other console output, so only its content is checked here.
    expect(r.out).toMatch(/kiln: sysctl: 1 set: vm\.swappiness=21/);
    expect(r.out).toContain('kiln: sysctl: vm.swappiness = 21 (/proc/sys/vm/swappiness)'); // debug: the edit's level
    expect(r.out).toContain('kiln: hostname: e2e-edited (');
    expect(r.code).toBe(0);
    expect(await readOnDisk('/kiln/secondary.yml.last-good')).toBe(edit);
  }, 600_000);

  test('an invalid edit: each problem on the console, the last known good copy used, the boot reaches ready', async () => {
    const invalid = 'hostname: e2e_bad\nstorage: {}\n';
    await writeOnDisk('/kiln/secondary.yml', invalid);
    const r = await boot();
    const problems = [
      `${SECONDARY}:2:1: storage: "storage" may only be set in the primary config (the secondary may set: hostname, network, time, sysctl, log, api, containers, registries, update)`,
      `${SECONDARY}:1:11: hostname: expected a hostname of letters, digits and "-" (at most 63), found "e2e_bad"`,
    ];
    expect(r.out).toContain(`kiln: secondary: ${problems[0]}\n`);
    expect(r.out).toContain(`kiln: secondary: ${problems[1]}; using the last known good copy ${SECONDARY}.last-good\n`);
    expect(r.out).toContain(`kiln: secondary: ${SECONDARY}: invalid, using the last known good copy; sets hostname, sysctl, log (`);
    expect(r.out).toContain('kiln: hostname: e2e-edited (');
    expect(r.out).toMatch(/kiln: ready in \d+ ms\n/);
    expect(r.code).toBe(0);
    // The operator's file is left for them to fix; the host's check prints the device's messages.
    expect(await readOnDisk('/kiln/secondary.yml')).toBe(invalid);
    const local = path.join(work, 'secondary.yml');
    await writeFile(local, invalid);
    const check = await kiln(['config', 'check', local]);
    expect(check.code).toBe(1);
    expect(check.stderr).toContain(problems.map((p) => `kiln: error: ${p.replace(SECONDARY, local)}\n`).join(''));
  }, 600_000);

  test('kiln logs reads every boot back from the disk image: the init log and the kernel log', async () => {
    const list = await kiln(['logs', state, '--list']);
    expect(list.stderr).toBe('');
    expect(list.stdout.trim().split('\n')).toHaveLength(3);
    expect(list.stdout).toMatch(/^ -2  [0-9a-f-]{36}  secondary-e2e, build [0-9a-f]+, kiln \d+\.\d+\.\d+  \(\d+ lines\)\n/);

    const first = await kiln(['logs', state, '--boot', '1']);
    expect(first.stdout).toMatch(/^-- kiln boot [0-9a-f-]{36}: secondary-e2e, /);
    expect(first.stdout).toMatch(/\] info {2}kiln: mounts: \/proc /); // from before the logs stage, replayed
    expect(first.stdout).toContain(`info  kiln: secondary: ${SECONDARY}: first boot, wrote the default`);
    expect(first.stdout).toContain('error kiln: sysctl: net.ipv4.ip_fowrard: no such setting');
    expect(first.stdout).toContain('info  kiln: shutting down (power button)'); // persisted at shutdown

    const last = await kiln(['logs', state, '--boot', '0']);
    expect(last.stdout).toContain('; using the last known good copy /data/kiln/secondary.yml.last-good');
    expect(last.stdout).not.toContain('first boot');

    const kernel = await kiln(['logs', state, '--kernel', '--boot', '0']);
    expect(kernel.stdout).toMatch(/\[ {4}0\.000000\] Linux version 6\.1\.\d+/);
    expect(kernel.stdout).toMatch(/EXT4-fs \(vda2\): mounted filesystem/);
    // The init's lines reach the kernel log through /dev/kmsg, so dmesg and kernel.log hold them too.
    expect(kernel.stdout).toMatch(/kiln: secondary: .*using the last known good copy/);
  }, 120_000);
});
