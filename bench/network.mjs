#!/usr/bin/env node
// Prints issue 3's network and time figures: the time from init start to "kiln: ready" with DHCP, SNTP and the
// status endpoint configured, under TCG, split by stage; and the same device without them, for comparison.
// Measures; asserts nothing.
//   node bench/network.mjs                 both boots
//   node bench/network.mjs --no-baseline   only the boot with network and time
// Runs the CLI from source (tsx), so no compile step is needed. The host serves SNTP on a free port of
// 127.0.0.1 (the guest's 10.0.2.2); QEMU's user network answers DHCP.
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const cli = [path.join(root, 'node_modules/tsx/dist/cli.mjs'), path.join(root, 'test/helpers/kiln-from-source.ts')];
const work = await mkdtemp(path.join(os.tmpdir(), 'kiln-bench-net-'));
const baseline = !process.argv.includes('--no-baseline');

function kiln(args) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [...cli, ...args], { cwd: work, env: { ...process.env, CI: 'true' } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, seconds: Number(process.hrtime.bigint() - started) / 1e9 }));
  });
}

// SNTP server side (RFC 4330 §5): mode 4, stratum 2, the request's transmit timestamp echoed as originate.
const NTP_UNIX_OFFSET_S = 2_208_988_800;
function ntpTimestamp(buffer, offset, unixMs) {
  const seconds = Math.floor(unixMs / 1000);
  buffer.writeUInt32BE((seconds + NTP_UNIX_OFFSET_S) % 2 ** 32, offset);
  buffer.writeUInt32BE(Math.floor(((unixMs - seconds * 1000) / 1000) * 2 ** 32), offset + 4);
}
const sntp = dgram.createSocket('udp4');
sntp.on('message', (request, remote) => {
  const reply = Buffer.alloc(48);
  reply[0] = (4 << 3) | 4;
  reply[1] = 2;
  request.copy(reply, 24, 40, 48);
  const now = Date.now();
  for (const offset of [16, 32, 40]) ntpTimestamp(reply, offset, now);
  sntp.send(reply, remote.port, remote.address);
});
await new Promise((resolve) => sntp.bind(0, '127.0.0.1', resolve));
const sntpPort = sntp.address().port;

const line = (label, value) => console.log(`${label.padEnd(56)} ${value}`);
const seconds = (ms) => `${(ms / 1000).toFixed(2).padStart(6)} s`;

async function bootFigures(label, yaml) {
  const dir = path.join(work, label);
  await import('node:fs/promises').then((fs) => fs.mkdir(dir, { recursive: true }));
  await writeFile(path.join(dir, 'kiln.yml'), yaml);
  await copyFile(path.join(root, 'examples/kiln.lock'), path.join(dir, 'kiln.lock'));
  const built = await kiln(['build', path.join(dir, 'kiln.yml'), '--out', path.join(dir, 'out'), '--profile', 'fast', '-q']);
  if (built.code !== 0) throw new Error(`${label}: kiln build failed:\n${built.out}`);
  const r = await kiln(['run', path.join(dir, 'out', 'BOOTX64.EFI'), '--expect', 'kiln: ready in \\d+ ms', '--timeout', '300']);
  const parts = /boot complete: kernel (\d+) ms, node startup (\d+) ms, init (\d+) ms/.exec(r.out);
  const ready = /kiln: ready in (\d+) ms/.exec(r.out);
  console.log(`\n${label}: boot under TCG, wall ${r.seconds.toFixed(1)} s (exit ${r.code})`);
  if (ready) line('  kernel start -> ready (the ready line)', seconds(Number(ready[1])));
  if (parts) line("  init start -> ready (the init's own share)", seconds(Number(parts[3])));
  for (const stage of ['modules', 'network', 'time', 'status']) {
    const m = new RegExp(`kiln: ${stage}: (.*) \\((\\d+) ms\\)`).exec(r.out);
    if (m) line(`    stage ${stage}`, `${seconds(Number(m[2]))}  (${m[1].slice(0, 70)})`);
  }
  const lease = /kiln: network: (eth0 dhcp .*)/.exec(r.out);
  if (lease) line('  lease', lease[1].trim());
  // The stages' own durations, from the same boot: steadier than the difference of two boots on a loaded machine.
  const stageMs = ['network', 'time', 'status'].map((stage) => Number(new RegExp(`kiln: ${stage}: .* \\((\\d+) ms\\)`).exec(r.out)?.[1] ?? NaN));
  line('  network + time + status stages together', seconds(stageMs.reduce((a, b) => a + b, 0)));
}

try {
  console.log(`kiln bench: network and time (${os.cpus().length} cores, TCG; SNTP on the host's 127.0.0.1:${sntpPort})`);
  await bootFigures(
    'network+time+status',
    ['name: bench-net', 'network: {interfaces: [{name: eth0, dhcp: true}]}', `time: {servers: ["10.0.2.2:${sntpPort}"]}`, 'statusPort: 8080', ''].join('\n'),
  );
  if (baseline) await bootFigures('baseline (no network, time or status)', 'name: bench-net\nkernel: {modules: [virtio_pci, virtio_net]}\n');
  console.log(`(load average: ${os.loadavg()[0].toFixed(2)}; TCG times grow with load)`);
} finally {
  sntp.close();
  await rm(work, { recursive: true, force: true });
}
