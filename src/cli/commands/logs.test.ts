/**
 * `kiln logs` against disk images made here: a GPT from kiln's codec around an ext4 partition from mkfs.ext4 -d,
 * holding log files in the device's format (see device/contract/logs/line-format.ts).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { encodeGpt, GptPartitionType } from '../../formats/gpt/index.js';
import { ext4Partitions } from '../../logs/disk-logs.js';
import { run } from '../main.js';

const MiB = 1024 * 1024;
const sbin = (tool: string) => ['/usr/sbin', '/sbin'].map((d) => path.join(d, tool)).find(existsSync) ?? tool;
let dir: string;

const marker = (id: string) => `-- kiln boot ${id}: gw, build b1, kiln 0.1.0 --\n`;

/** A GPT disk: a 1 MiB ESP-typed blank partition, then ext4 DATA holding `files`. */
async function diskWith(name: string, files: Record<string, string>, options: { needsRecovery?: boolean } = {}): Promise<string> {
  const root = path.join(dir, `${name}-root`);
  for (const [file, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), text);
  }
  await mkdir(root, { recursive: true });
  const part = path.join(dir, `${name}-part.img`);
  execFileSync(sbin('mkfs.ext4'), ['-q', '-F', '-L', 'DATA', '-d', root, part, '8M']);
  // As if the device lost power while mounted: the journal may hold changes not yet in place.
  if (options.needsRecovery) execFileSync(sbin('debugfs'), ['-w', '-R', 'feature needs_recovery', part], { stdio: 'ignore' });
  const gpt = encodeGpt({
    seed: name,
    partitions: [
      { type: GptPartitionType.efiSystem, name: 'ESP', sizeBytes: MiB },
      { type: GptPartitionType.linuxFilesystem, name: 'DATA', sizeBytes: 8 * MiB },
    ],
  });
  const disk = path.join(dir, `${name}.img`);
  const file = await open(disk, 'w');
  await file.truncate(gpt.diskSizeBytes);
  await file.write(gpt.head, 0, gpt.head.length, 0);
  await file.write(await readFile(part), 0, 8 * MiB, gpt.partitions[1]!.offsetBytes);
  await file.write(gpt.tail, 0, gpt.tail.length, gpt.tailOffset);
  await file.close();
  return disk;
}

async function kiln(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d));
  stderr.on('data', (d: Buffer) => (err += d));
  const code = await run(argv, { stdout, stderr, env: {}, cwd: dir });
  return { code, stdout: out, stderr: err };
}

const logs = {
  // Rotated: boot a began in init.log.2, went on in .1 (a marker per file), boot b is in init.log.
  'log/init.log.2': `${marker('a')}[    1.000000] info  kiln: mounts: /proc (2 ms)\n`,
  'log/init.log.1': `${marker('a')}[    9.000000] info  kiln: shutting down (power button)\n`,
  'log/init.log': `${marker('b')}[    1.100000] info  kiln: hostname: gw-7 (1 ms)\n`,
  'log/kernel.log': `${marker('b')}[    0.000000] Linux version 6.1.0-rt\n`,
  'kiln/secondary.yml': 'hostname: gw-7\n',
};

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-logs-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('kiln logs', () => {
  test('prints the init log, rotated files oldest first, every boot', async () => {
    await diskWith('two-boots', logs);
    const r = await kiln('logs', 'two-boots.img');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(logs['log/init.log.2'] + logs['log/init.log.1'] + logs['log/init.log']);
    expect(r.code).toBe(0);
  });

  test('--boot picks one boot like journalctl -b, --list lists them, --kernel reads kernel.log', async () => {
    expect((await kiln('logs', 'two-boots.img', '--boot', '-1')).stdout).toBe(
      `${marker('a')}[    1.000000] info  kiln: mounts: /proc (2 ms)\n[    9.000000] info  kiln: shutting down (power button)\n`,
    );
    expect((await kiln('logs', 'two-boots.img', '--boot', '1')).stdout).toContain('kiln boot a:');
    expect((await kiln('logs', 'two-boots.img', '--boot', '0')).stdout).toBe(logs['log/init.log']);
    expect((await kiln('logs', 'two-boots.img', '--list')).stdout).toBe(
      ' -1  a  gw, build b1, kiln 0.1.0  (2 lines)\n  0  b  gw, build b1, kiln 0.1.0  (1 lines)\n',
    );
    expect((await kiln('logs', 'two-boots.img', '--kernel')).stdout).toBe(logs['log/kernel.log']);
    expect((await kiln('logs', 'two-boots.img', '--dir', '/log', '--boot', '0')).stdout).toBe(logs['log/init.log']);
  });

  test('a boot that is not there, a folder without logs: one clear line each, exit 1', async () => {
    const noBoot = await kiln('logs', 'two-boots.img', '--boot', '-2');
    expect(noBoot.code).toBe(1);
    expect(noBoot.stderr).toMatch(/^kiln: error: two-boots\.img: no boot -2 in \/log\/init\.log: it holds 2 boots\n/);
    const noDir = await kiln('logs', 'two-boots.img', '--dir', '/kiln');
    expect(noDir.stderr).toMatch(/: no init\.log in \/kiln of any ext4 partition\n/);
    await diskWith('empty', { 'kiln/secondary.yml': 'x: 1\n' });
    const none = await kiln('logs', 'empty.img');
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^kiln: error: .*empty\.img: no init\.log in the first 3 folder levels of any ext4 partition\n/);
  });

  test('not a disk image', async () => {
    await writeFile(path.join(dir, 'not-a-disk.img'), Buffer.alloc(64 * 1024));
    const r = await kiln('logs', 'not-a-disk.img');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^kiln: error: .*not-a-disk\.img: not a GPT disk image: Cannot decode GPT protective MBR at 0x1fe: missing the 0x55 0xAA boot signature\n/,
    );
  });

  test('a partition whose journal needs recovery is read from a recovered temp copy; the image is not changed', async () => {
    const disk = await diskWith('unclean', logs, { needsRecovery: true });
    expect(await ext4Partitions(disk)).toEqual([{ number: 2, label: 'DATA', offsetBytes: 2 * MiB, sizeBytes: 8 * MiB, needsRecovery: true }]);
    expect((await ext4Partitions(path.join(dir, 'two-boots.img')))[0]!.needsRecovery).toBe(false);
    const before = createHash('sha256')
      .update(await readFile(disk))
      .digest('hex');
    const r = await kiln('logs', 'unclean.img', '--boot', '0');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(logs['log/init.log']);
    expect(
      createHash('sha256')
        .update(await readFile(disk))
        .digest('hex'),
    ).toBe(before);
  });
});
