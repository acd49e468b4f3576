/**
 * End to end: the health gate with a real container. v1 runs `web` (busybox httpd from an umoci-made image, an HTTP
 * healthcheck that passes); v2 is the same image with a healthcheck that never passes. v2 is tried once, reaches
 * ready, but `web` never turns healthy within its gate, so the init records why and reboots; the firmware boots the
 * committed v1 again, and `kiln update` reports the rollback with the container's reason. Three boots under TCG.
 */
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { makeBusyboxImage } from '../helpers/busybox-image.js';
import { freePort, makeUpdatableDisk, updatableConfig, UpdateMachine } from '../helpers/update-machine.js';

const root = path.resolve(import.meta.dirname, '../..');
const TOKEN = 'update-health-token';
let work: string;
let machine: UpdateMachine;

async function writeConfig(version: string, healthcheck: string): Promise<string> {
  const file = path.join(work, `v${version}.yml`);
  const containers = `containers:
  - name: web
    image: oci:images:busybox
    command: [/bin/sh, -c, 'echo ok > /www/health; exec httpd -f -p 127.0.0.1:8081 -h /www']
    mounts: [{ type: tmpfs, target: /www, size: 1M }]
    restart: always
    healthcheck: ${healthcheck}
`;
  await writeFile(file, updatableConfig({ name: 'update-health', version, token: TOKEN, update: '  required: [web]\n', healthSeconds: 5 }) + containers);
  return file;
}

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'kiln-update-health-'));
  await copyFile(path.join(root, 'examples/kiln.lock'), path.join(work, 'kiln.lock'));
  await makeBusyboxImage(path.join(work, 'images'), work);
  await makeUpdatableDisk(
    work,
    await writeConfig('1.0.0', '{ http: { port: 8081, path: /health }, intervalSeconds: 1, retries: 2 }'),
    path.join(work, 'v1.img'),
  );
  machine = new UpdateMachine({ disk: path.join(work, 'v1.img'), state: path.join(work, 'state.img'), port: await freePort(), token: TOKEN });
});
afterAll(async () => {
  if (machine?.running) await machine.powerCut();
  await rm(work, { recursive: true, force: true });
});

describe('the health gate of a trial boot, with a container', () => {
  test('v2 whose required container never turns healthy is rolled back to v1 with the reason', async () => {
    machine.start();
    expect(await machine.waitReady(1), machine.out.slice(-3000)).toBe(true);
    // v1's web turns healthy: the gate's condition holds for the committed firmware.
    expect(await machine.waitFor(() => /kiln: container web: healthy \(/.test(machine.out), 120), machine.out.slice(-3000)).toBe(true);
    const v2 = await writeConfig('1.1.0', "{ exec: [/bin/sh, -c, 'test -f /never'], intervalSeconds: 1, retries: 100 }");
    const r = await machine.update(v2, path.join(work, 'keys/update.key'));
    expect(r.code).toBe(1);
    // Never healthy: still "starting" (no check passed) or, after its retries, ended as unhealthy and restarting.
    expect(r.stderr).toMatch(/1\.1\.0 \(build \w+\) was rolled back: health gate: container web is \w+/);
    expect(machine.out).toMatch(/kiln: update: booted slot B \(Boot\d{4}\), committed A, trial boot/);
    expect(machine.out).toMatch(/kiln: update: health gate: web must stay up for 5 s/);
    expect(machine.out).toMatch(/failed its health gate .*; rebooting into the committed slot A/);
    const s = await machine.status();
    expect(s).toMatchObject({ running: { version: '1.0.0', slot: 'A' }, last: { outcome: 'rolled-back', version: '1.1.0' } });
    await machine.stop();
  }, 1_500_000);
});
