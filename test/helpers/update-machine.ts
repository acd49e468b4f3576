/**
 * One updatable device under QEMU, for the update tests and bench/power-cut.mjs: a kept disk booted by
 * `kiln run --keep-disk --reboot` (guest reboots restart the machine, the UEFI variables persist beside the disk),
 * its console collected, its management API forwarded to a free host port, and a power cut that is a real one:
 * SIGKILL to QEMU itself (kiln run then ends), no shutdown of any kind.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import * as http from 'node:http';
import path from 'node:path';
import type { UpdateStatus } from '../../device/contract/update/status.ts';
import { kiln, kilnRun } from './cli.js';
import { freePort } from '../../src/container-images/_testing.js';

export { freePort };

export const READY = /kiln: ready in \d+ ms/g;

/** A config of an updatable test device; `extra` lines go under `kernel:` (e.g. a cmdline), `update` under update. */
export function updatableConfig(o: { name: string; version: string; token: string; kernel?: string; update?: string; healthSeconds?: number }): string {
  return `name: ${o.name}
version: ${o.version}
kernel:
  modules: [virtio_pci, virtio_blk, virtio_net]
${o.kernel ?? ''}storage:
  partitions:
    - { label: ESP, filesystem: vfat, size: 64M, esp: true }
    - { label: DATA, filesystem: ext4, size: rest, mount: /data }
update:
  publicKey: keys/update.pub
  healthSeconds: ${o.healthSeconds ?? 5}
${o.update ?? ''}watchdog:
  timeoutSeconds: 10
apiPort: 18080
secondary:
  path: /data/kiln/secondary.yml
  default:
    api: { token: ${o.token} }
network:
  interfaces: [{ name: eth0, dhcp: true }]
`;
}

export class UpdateMachine {
  readonly disk: string;
  readonly state: string;
  readonly port: number;
  readonly token: string;
  readonly bootIndex: boolean;
  out = '';
  /** The run ended (kiln run exited): set per run. */
  private ended = true;
  private child: ChildProcess | undefined;
  private done: Promise<{ code: number | null; out: string; err: string }> | undefined;

  constructor(o: { disk: string; state: string; port: number; token: string; bootIndex?: boolean }) {
    this.disk = o.disk;
    this.state = o.state;
    this.port = o.port;
    this.token = o.token;
    this.bootIndex = o.bootIndex ?? false;
  }

  /** Starts the machine on the kept disk (made from `disk` on first use); the console accumulates in `out`. */
  start(): void {
    if (!this.ended) throw new Error('the machine is already running');
    this.out = '';
    this.child = undefined;
    this.ended = false;
    const args = [this.disk, '--keep-disk', this.state, '--reboot', '--forward', `${this.port}:18080`, '--timeout', '3000'];
    if (!this.bootIndex) args.push('--no-bootindex');
    this.done = kilnRun(args, (text, child) => {
      this.out = text.replace(/\r/g, '');
      this.child = child;
    }).finally(() => (this.ended = true));
  }

  get running(): boolean {
    return !this.ended;
  }

  /** Ready lines so far (each boot prints one). */
  readyLines(): number {
    return (this.out.match(READY) ?? []).length;
  }

  /** Waits for ready line #count; false when `seconds` pass first (what a brick looks like from outside). */
  async waitReady(count: number, seconds = 400): Promise<boolean> {
    return this.waitFor(() => this.readyLines() >= count, seconds);
  }

  async waitFor(done: () => boolean, seconds: number): Promise<boolean> {
    const deadline = Date.now() + seconds * 1000;
    while (Date.now() < deadline) {
      if (done()) return true;
      if (this.ended) return done();
      await new Promise((r) => setTimeout(r, 250));
    }
    return done();
  }

  /** Presses the power button (kiln run's SIGTERM) and waits for the run to end. */
  async stop(): Promise<string> {
    await this.waitFor(() => this.child !== undefined, 60);
    this.child?.kill('SIGTERM');
    const r = await this.done!;
    return r.out.replace(/\r/g, '');
  }

  /** A power cut: SIGKILL to this machine's QEMU (found by its kept disk on the command line), then the run's end. */
  async powerCut(): Promise<void> {
    if (this.ended) return;
    let qemu: string[] = [];
    try {
      qemu = execFileSync('pgrep', ['-f', `qemu-system.*${this.state}`], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .filter(Boolean);
    } catch {
      // No QEMU (yet, or any more).
    }
    for (const q of qemu) process.kill(Number(q), 'SIGKILL');
    // kiln run sees its QEMU die and ends on its own; without a QEMU, end kiln run itself.
    if (qemu.length === 0) this.child?.kill('SIGTERM');
    await this.done;
  }

  api<T>(method: 'GET' | 'POST', route: string, body?: { data: Uint8Array; headers: Record<string, string> }): Promise<{ status: number; json: T }> {
    return new Promise((resolve, reject) => {
      const request = http.request(
        {
          host: '127.0.0.1',
          port: this.port,
          method,
          path: route,
          headers: { authorization: `Bearer ${this.token}`, ...(body?.headers ?? {}), ...(body ? { 'content-length': body.data.length } : {}) },
        },
        (response) => {
          let text = '';
          response.setEncoding('utf8').on('data', (d: string) => (text += d));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, json: JSON.parse(text) as T }));
        },
      );
      request.setTimeout(30_000, () => request.destroy(new Error(`no answer from the device's API on port ${this.port} within 30 s`)));
      request.on('error', reject);
      request.end(body === undefined ? undefined : Buffer.from(body.data));
    });
  }

  async status(): Promise<UpdateStatus> {
    return (await this.api<UpdateStatus>('GET', '/v1/update')).json;
  }

  /** `kiln update --device` as a user runs it, with the test's key and token. */
  update(target: string, key: string, extra: string[] = [], signal?: AbortSignal) {
    return kiln(['update', '--device', `127.0.0.1:${this.port}`, '--key', key, target, '--profile', 'fast', '--wait', '600', '-q', ...extra], {
      env: { KILN_TOKEN: this.token },
      signal,
    });
  }
}

/** `kiln keys` into `<dir>/keys`, then `kiln disk` of `config` (fast profile) into `disk`; throws with kiln's words. */
export async function makeUpdatableDisk(dir: string, config: string, disk: string): Promise<void> {
  const keys = await kiln(['keys', '--out', path.join(dir, 'keys')]);
  if (keys.code !== 0) throw new Error(keys.stderr);
  const made = await kiln(['disk', config, '--out', disk, '--profile', 'fast', '-q']);
  if (made.code !== 0 || made.stderr !== '') throw new Error(made.stderr);
}
