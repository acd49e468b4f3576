import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { run } from '../main.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-config-check-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function check(name: string, text: string, ...flags: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  await writeFile(path.join(dir, name), text);
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d));
  stderr.on('data', (d: Buffer) => (err += d));
  const code = await run(['config', 'check', name, ...flags], { stdout, stderr, env: {}, cwd: dir });
  return { code, stdout: out, stderr: err };
}

describe('kiln config check', () => {
  test('a valid primary config', async () => {
    const r = await check('kiln.yml', 'name: gw\nsysctl:\n  vm.swappiness: 10\n');
    expect(r).toEqual({ code: 0, stdout: `${dir}/kiln.yml: ok (config)\n`, stderr: '' });
  });

  test('a primary config: every problem, in file order, then a summary; exit 1', async () => {
    const r = await check('bad.yml', 'name: gw\nkernel:\n  comdline: quiet\narch: arm\n');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `kiln: error: ${dir}/bad.yml:3:3: kernel.comdline: unknown key "comdline" (did you mean "cmdline"?); expected one of "package", "cmdline", "modules"\n` +
        `kiln: error: ${dir}/bad.yml:4:7: arch: expected one of "x86_64", "aarch64", found "arm"\n` +
        `kiln: error: ${dir}/bad.yml: 2 problems in this config\n`,
    );
  });

  test('a file without "name" is checked as a secondary config', async () => {
    const ok = await check('secondary.yml', 'hostname: gw-7\nlog:\n  level: debug\n');
    expect(ok).toEqual({ code: 0, stdout: `${dir}/secondary.yml: ok (secondary config)\n`, stderr: '' });

    const bad = await check('bad-secondary.yml', 'hostname: gw-7\nstorage:\n  partitions: []\nlog:\n  level: loud\n');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(
      `kiln: error: ${dir}/bad-secondary.yml:2:1: storage: "storage" may only be set in the primary config (the secondary may set: hostname, network, time, sysctl, log, api, containers, registries, update)\n` +
        `kiln: error: ${dir}/bad-secondary.yml:5:10: log.level: expected one of "debug", "info", "warn", "error", found "loud"\n` +
        `kiln: error: ${dir}/bad-secondary.yml: 2 problems in this secondary config\n` +
        'kiln: Checked as a secondary config because it has no "name"; a primary config needs one.\n',
    );
  });

  test('--secondary checks a file with "name" as a secondary config too', async () => {
    const r = await check('both.yml', 'name: gw\nhostname: gw-1\n', '--secondary');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `kiln: error: ${dir}/both.yml:1:1: name: "name" may only be set in the primary config (the secondary may set: hostname, network, time, sysctl, log, api, containers, registries, update)\n` +
        `kiln: error: ${dir}/both.yml: 1 problem in this secondary config\n`,
    );
  });

  test('--json prints the validated secondary with defaults', async () => {
    const r = await check('json.yml', 'network:\n  interfaces:\n    - name: eth0\n', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ network: { interfaces: [{ name: 'eth0', dhcp: false, addresses: [], routes: [] }], dns: [] } });
  });
});
