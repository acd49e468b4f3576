/**
 * `kiln update --device`: sends one signed firmware straight to a device over its management API and follows it to
 * the outcome. The device installs into its inactive slot and reboots into it; this side then polls GET /v1/update
 * (the device is unreachable while it reboots, perhaps twice) until the device reports this build committed or
 * rolled back, or the wait runs out.
 */
import { createReadStream } from 'node:fs';
import { Transform } from 'node:stream';
import type { UpdateStatus } from '../../device/contract/update/status.ts';
import { routes, type DeviceClient } from '../device-api/client.js';
import { KilnError } from '../util/errors.js';
import type { Reporter } from '../util/report.js';
import type { Release } from './release.js';

export interface Delivered {
  outcome: 'committed' | 'rolled-back' | 'installed';
  version: string;
  buildId: string;
  slot: string;
  reason?: string;
  seconds: number;
}

export async function sendRelease(
  client: DeviceClient,
  release: Release,
  o: { force?: boolean; reboot: boolean; reporter: Reporter },
): Promise<{ slot: string; rebooting: boolean }> {
  const { statement, bytes, signature } = release.signed;
  const progress = o.reporter.progress(`sending ${statement.version} (build ${statement.buildId}) to ${client.address.label}`, statement.size, 'bytes');
  let sent = 0;
  const counting = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      sent += chunk.length;
      progress.update(sent);
      done(null, chunk);
    },
  });
  try {
    const answer = await client.json<{ installed: string; rebooting: boolean }>(routes.update({ force: o.force, reboot: o.reboot }), {
      method: 'POST',
      // The device writes and reads back the firmware (40-200 MB) on a slot before it answers.
      timeoutMs: 120_000,
      body: {
        stream: createReadStream(release.payload).pipe(counting),
        length: statement.size,
        headers: { 'x-kiln-statement': Buffer.from(bytes).toString('base64'), 'x-kiln-signature': Buffer.from(signature).toString('base64') },
      },
    });
    return { slot: answer.installed, rebooting: answer.rebooting };
  } finally {
    progress.stop();
  }
}

/** Polls until the device reports `buildId` committed or rolled back. */
export async function waitForOutcome(
  client: DeviceClient,
  buildId: string,
  o: { timeoutMs: number; reporter: Reporter; sleep?: (ms: number) => Promise<void>; now?: () => number },
): Promise<Pick<Delivered, 'outcome' | 'reason' | 'slot'>> {
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const deadline = now() + o.timeoutMs;
  let said = '';
  const say = (line: string) => {
    if (line !== said) o.reporter.step(line);
    said = line;
  };
  while (now() < deadline) {
    let status: UpdateStatus | undefined;
    try {
      status = await client.json<UpdateStatus>(routes.update(), { timeoutMs: 5_000 });
    } catch (error) {
      if (!(error instanceof KilnError) || !['DEVICE_UNREACHABLE', 'DEVICE_TIMEOUT', 'DEVICE_CONNECTION_LOST'].includes(error.code)) throw error;
      say('the device is rebooting…');
    }
    if (status !== undefined) {
      const last = status.last;
      // Settled: committed and running it, or rolled back and running the other firmware again (a failed health gate
      // records its rollback before the reboot that gets there).
      const settled =
        last !== undefined &&
        last.buildId === buildId &&
        ((last.outcome === 'committed' && status.running.buildId === buildId) || (last.outcome === 'rolled-back' && status.running.buildId !== buildId));
      if (settled) return { outcome: last.outcome as 'committed' | 'rolled-back', reason: last.reason, slot: status.running.slot ?? '?' };
      if (last?.buildId === buildId && last.outcome === 'rolled-back') say('rolled back: rebooting into the committed firmware…');
      if (status.pending?.buildId === buildId)
        say(status.pending.phase === 'trying' ? 'trial boot: health gate running…' : 'installed, waiting for the reboot…');
    }
    await sleep(2_000);
  }
  throw new KilnError('UPDATE_TIMEOUT', `${client.address.label}: no outcome for build ${buildId} within ${o.timeoutMs / 1000} s`, {
    hint: '`kiln update status --device …` shows where it stands; --wait waits longer.',
  });
}
