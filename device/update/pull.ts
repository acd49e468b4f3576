/**
 * The device pulls its own firmware (the secondary config's `update`): soon after boot and then every `interval`
 * seconds it asks the source's registry (through the mirror `registries` names for it, as container pulls do) what
 * the tag names, resolves that to this device's architecture, and compares the manifest's digest with the last one
 * seen (kept in `<stateDir>/pull.json`). Only a new digest costs more than one small request: the statement and the
 * signature from the artifact, then install() with the EFI blob streamed as it downloads (resumed when cut:
 * blob-download.ts). The install never reboots by itself here: this file reboots at once, or when the reboot
 * window opens.
 *
 * Every failure is one log line naming the source, and the next poll tries again. A digest the device refused
 * (signature, name, version, a build that failed its trial …) or that is no kiln firmware is remembered and not
 * fetched again until the source names something else. No poll while an update is being received or on trial.
 */
import { createHash } from 'node:crypto';
import type { StageContext } from '../base/context.ts';
import type { DeviceSettings } from '../contract/boot-config.ts';
import { errorMessage } from '../contract/error-message.ts';
import { DistributionClient, DistributionError } from '../contract/oci/distribution-client.ts';
import { describeFetchError } from '../contract/oci/fetch-error.ts';
import { parseImageRef, type RegistryRef } from '../contract/oci/image-ref.ts';
import { MANIFEST_ACCEPT } from '../contract/oci/media-types.ts';
import { FirmwareArtifactError, firmwareLayers, MAX_STATEMENT_BYTES, pickFirmware, type ArtifactDescriptor } from '../contract/update/artifact-pick.ts';
import { parseStatement, type FirmwareStatement } from '../contract/update/statement.ts';
import { describeRegistryFailure, registryOrigin } from '../containers/pull.ts';
import { DOWNLOAD_LIMITS, resumableBlob, type DownloadLimits } from './blob-download.ts';
import { UpdateRefused } from './install.ts';
import type { UpdateHandle } from './stage.ts';
import { inWindow, msUntilOpen } from './window.ts';

export type PullContext = Pick<StageContext, 'config' | 'data' | 'log' | 'settings' | 'onShutdown'>;

export interface PullOptions {
  /** The wall clock (UTC ms) the reboot window is read against. @default Date.now */
  wallNow?: () => number;
  /** @default Math.random */
  random?: () => number;
  /** Calls `fn` after `ms`; returns the cancel. @default an unref'd setTimeout */
  setTimer?: (ms: number, fn: () => void) => () => void;
  /** @default DOWNLOAD_LIMITS */
  limits?: DownloadLimits;
  /** Time limit of each small request (the manifests, the statement). @default 30 s */
  requestTimeoutMs?: number;
}

/** What one poll came to. */
export type PollOutcome = 'off' | 'busy' | 'unchanged' | 'running' | 'installed' | 'refused' | 'not-firmware' | 'failed';

export interface Poller {
  /** One look at the source now, as the timer takes it. */
  poll(): Promise<PollOutcome>;
  stop(): void;
}

/** What the last poll that got an answer saw, and what came of it (`<stateDir>/pull.json`). */
interface Seen {
  source: string;
  digest: string;
  outcome: 'installed' | 'running' | 'refused' | 'not-firmware';
  version?: string;
  buildId?: string;
  reason?: string;
  at: string;
}

export const PULL_FILE = 'pull.json';
const FIRST_POLL_MS = 5_000;
const FIRST_POLL_JITTER_MS = 25_000;
/** Without a source, how often the settings are looked at again (a reload may add one). */
const IDLE_MS = 30_000;
const MAX_MANIFEST_BYTES = 4 << 20;

/** A failure of this poll, worded for its log line. */
class PollFailed extends Error {}

const unrefTimer = (ms: number, fn: () => void) => {
  const timer = setTimeout(fn, ms);
  timer.unref();
  return () => clearTimeout(timer);
};

const sha256 = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const short = (digest: string) => `${digest.slice(0, 19)}…`;

/**
 * Starts polling `settings().update.source`; inert without the primary config's `update` section (nothing to
 * install into). `reboot` is the init's clean reboot.
 */
export function startPolling(handle: Pick<UpdateHandle, 'status' | 'install'>, ctx: PullContext, reboot: () => void, options: PullOptions = {}): Poller {
  const { config, log } = ctx;
  const stateDir = config.update?.stateDir;
  if (stateDir === undefined) return { poll: () => Promise.resolve('off'), stop: () => {} };
  const wallNow = options.wallNow ?? Date.now;
  const random = options.random ?? Math.random;
  const setTimer = options.setTimer ?? unrefTimer;
  const limits = options.limits ?? DOWNLOAD_LIMITS;
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  const file = `${stateDir}/${PULL_FILE}`;
  let seen: Seen | undefined | null = null; // null: not read yet
  let said: string | undefined;
  let waiting: { source: string; buildId: string; version: string; cancel: () => void } | undefined;
  let inflight: Promise<PollOutcome> | undefined;
  let cancelPoll: (() => void) | undefined;
  let stopped = false;

  const lastSeen = (): Seen | undefined => {
    if (seen === null) seen = readSeen(ctx, file);
    return seen;
  };
  const remember = (next: Seen) => {
    seen = next;
    try {
      ctx.data.replaceFile(file, `${JSON.stringify(next, null, 2)}\n`);
    } catch (error) {
      log.warn(`update: pull from ${next.source}: cannot record ${short(next.digest)} in ${file} (${errorMessage(error)}); kept until the next boot`);
    }
  };
  const sayOnce = (line: string) => {
    if (line !== said) log.warn(line);
    said = line;
  };

  /** Reboot into `buildId` when the window is open (now, or when it opens), unless something replaced it since. */
  const rebootInWindow = (source: string, buildId: string, version: string) => {
    waiting?.cancel();
    waiting = undefined;
    const pending = handle.status().pending;
    if (pending?.phase !== 'installed' || pending.buildId !== buildId) return;
    const window = ctx.settings().update?.window;
    const wait = msUntilOpen(window, wallNow());
    if (wait === 0) {
      log.info(`update: pull from ${source}: rebooting into ${version} (build ${buildId})`);
      reboot();
      return;
    }
    log.info(
      `update: pull from ${source}: ${version} (build ${buildId}) reboots when the window ${window!.start}-${window!.end} UTC opens, in ${Math.ceil(wait / 60_000)} min`,
    );
    waiting = { source, buildId, version, cancel: setTimer(wait, () => rebootInWindow(source, buildId, version)) };
  };

  async function pollOnce(): Promise<PollOutcome> {
    const settings = ctx.settings();
    const pull = settings.update;
    if (pull === undefined) return 'off';
    const status = handle.status();
    if (!status.available) {
      sayOnce(`update: pull from ${pull.source}: updates are unavailable on this device (${status.reason}); not pulling`);
      return 'off';
    }
    if (busy(handle)) return 'busy';
    // A clock that was set since the wait began (SNTP) moves the window: look again at every poll.
    if (waiting !== undefined && inWindow(pull.window, wallNow())) rebootInWindow(waiting.source, waiting.buildId, waiting.version);
    const source = pull.source;
    const say = (line: string) => `update: pull from ${source}: ${line}`;
    // Validated by the secondary schema: a registry reference.
    const ref = parseImageRef(source) as RegistryRef;
    const origin = registryOrigin(ref, mirrors(settings));
    const client = new DistributionClient({ origin, repository: ref.repository, tokenTimeoutMs: requestTimeoutMs });
    const isSeen = (digest: string) => lastSeen()?.source === source && lastSeen()?.digest === digest;
    let digest: string | undefined;
    let statement: FirmwareStatement | undefined;
    try {
      const tagged = await getBytes(client, `manifests/${ref.digest ?? ref.tag}`, MAX_MANIFEST_BYTES, requestTimeoutMs);
      digest = sha256(tagged);
      if (ref.digest !== undefined && digest !== ref.digest) throw new PollFailed(`${origin} sent a manifest whose digest is ${digest}, not ${ref.digest}`);
      if (isSeen(digest)) return 'unchanged';
      const pick = pickFirmware(tagged, config.arch);
      let layers;
      if (pick.kind === 'index') {
        digest = pick.manifest.digest;
        if (isSeen(digest)) return 'unchanged';
        layers = firmwareLayers(await getVerified(client, 'manifests', pick.manifest, MAX_MANIFEST_BYTES, requestTimeoutMs), config.arch);
      } else layers = pick.firmware;
      const statementBytes = await getVerified(client, 'blobs', layers.statement, MAX_STATEMENT_BYTES, requestTimeoutMs);
      try {
        statement = parseStatement(statementBytes);
      } catch {
        // install() refuses it with its own words, before a byte of the EFI is fetched.
      }
      const what = `${layers.version} (build ${layers.buildId})`;
      if (statement?.buildId === config.buildId) {
        remember({ source, digest, outcome: 'running', version: layers.version, buildId: layers.buildId, at: new Date(wallNow()).toISOString() });
        log.info(say(`${what} is the running firmware`));
        return 'running';
      }
      if (statement !== undefined && (layers.payload.digest !== `sha256:${statement.sha256}` || layers.payload.size !== statement.size)) {
        throw new UpdateRefused(400, `its EFI layer (${short(layers.payload.digest)}, ${layers.payload.size} bytes) is not the one its statement signs`);
      }
      // Checked again here, in the same turn as the call: an install through the API may have begun meanwhile.
      if (busy(handle)) return 'busy';
      log.info(say(`${what} is new (manifest ${short(digest)}): downloading ${(layers.payload.size / 1e6).toFixed(1)} MB from ${origin}`));
      const onResume = (r: { offset: number; size: number; reason: string; retry: number; retries: number; delayMs: number }) =>
        log.warn(
          say(
            `the download broke off after ${r.offset} of ${r.size} bytes (${r.reason}); resuming from there in ${r.delayMs / 1000} s (${r.retry} of ${r.retries})`,
          ),
        );
      const done = await handle.install({
        statement: statementBytes,
        signature: layers.signature,
        payload: resumableBlob(client, layers.payload, limits, onResume),
        force: false,
        reboot: false,
      });
      remember({ source, digest, outcome: 'installed', version: layers.version, buildId: layers.buildId, at: new Date(wallNow()).toISOString() });
      rebootInWindow(source, done.statement.buildId, done.statement.version);
      return 'installed';
    } catch (error) {
      const at = new Date(wallNow()).toISOString();
      if (error instanceof FirmwareArtifactError && digest !== undefined) {
        remember({ source, digest, outcome: 'not-firmware', reason: error.message, at });
        log.warn(say(`${error.message}; looking again when the source changes`));
        return 'not-firmware';
      }
      if (error instanceof UpdateRefused && digest !== undefined) {
        const what = statement === undefined ? short(digest) : `${statement.version} (build ${statement.buildId})`;
        remember({
          source,
          digest,
          outcome: 'refused',
          ...(statement ? { version: statement.version, buildId: statement.buildId } : {}),
          reason: error.message,
          at,
        });
        log.warn(say(`${what} refused: ${error.message}; not fetched again until the source changes`));
        return 'refused';
      }
      log.warn(say(`${error instanceof PollFailed ? error.message : errorMessage(error)}; the next poll tries again`));
      return 'failed';
    }
  }

  const poll = (): Promise<PollOutcome> => {
    inflight ??= pollOnce()
      .catch((error: unknown) => {
        log.error(`update: pull: ${errorMessage(error)}`);
        return 'failed' as const;
      })
      .finally(() => (inflight = undefined));
    return inflight;
  };
  const schedule = (ms: number) => {
    cancelPoll = setTimer(ms, () => {
      void poll().then(() => {
        if (stopped) return;
        const interval = ctx.settings().update?.interval;
        schedule(interval === undefined ? IDLE_MS : interval * 1000 * (0.9 + 0.2 * random()));
      });
    });
  };

  const pull = ctx.settings().update;
  const first = FIRST_POLL_MS + random() * Math.min(FIRST_POLL_JITTER_MS, (pull?.interval ?? 30) * 1000);
  if (pull !== undefined) log.info(`update: pulling ${pull.source} every ${pull.interval} s (first look in ${Math.round(first / 1000)} s)`);
  schedule(first);
  const stop = () => {
    stopped = true;
    cancelPoll?.();
    waiting?.cancel();
  };
  ctx.onShutdown(stop);
  return { poll, stop };
}

/** An update being received, or this boot is one on trial: install() would refuse, and not for the firmware's sake. */
function busy(handle: Pick<UpdateHandle, 'status'>): boolean {
  const phase = handle.status().pending?.phase;
  return phase === 'receiving' || phase === 'trying';
}

function mirrors(settings: DeviceSettings): Record<string, string> {
  return Object.fromEntries(Object.entries(settings.registries ?? {}).map(([host, r]) => [host, r.mirror]));
}

function readSeen(ctx: PullContext, file: string): Seen | undefined {
  let text: string;
  try {
    text = ctx.data.readText(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') ctx.log.warn(`update: pull: cannot read ${file} (${errorMessage(error)}); starting over`);
    return undefined;
  }
  try {
    const value = JSON.parse(text) as Seen;
    if (typeof value.source !== 'string' || typeof value.digest !== 'string') throw new TypeError('no source and digest');
    return value;
  } catch (error) {
    ctx.log.warn(`update: pull: ${file} is unreadable (${errorMessage(error)}); starting over`);
    return undefined;
  }
}

/** A small document or blob, in memory, within `limit` bytes and `timeoutMs`. */
async function getBytes(client: DistributionClient, suffix: string, limit: number, timeoutMs: number): Promise<Uint8Array> {
  try {
    const response = await client.get(suffix, suffix.startsWith('manifests/') ? MANIFEST_ACCEPT : '*/*', AbortSignal.timeout(timeoutMs));
    const declared = Number(response.headers.get('content-length') ?? '0');
    if (declared > limit) {
      await response.body?.cancel();
      throw new PollFailed(`${client.origin}: ${suffix.replace('/', ' ')} is ${declared} bytes, more than such a document can be`);
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.length > limit)
      throw new PollFailed(`${client.origin}: ${suffix.replace('/', ' ')} is more than ${limit} bytes, more than such a document can be`);
    return bytes;
  } catch (error) {
    if (error instanceof PollFailed) throw error;
    if (error instanceof DistributionError) throw new PollFailed(describeRegistryFailure(client.origin, error.failure, suffix));
    throw new PollFailed(`${client.origin}: ${suffix.replace('/', ' ')}: ${describeFetchError(error)}`);
  }
}

/** A manifest or blob by its descriptor, checked against its digest. */
async function getVerified(
  client: DistributionClient,
  kind: 'manifests' | 'blobs',
  d: ArtifactDescriptor,
  limit: number,
  timeoutMs: number,
): Promise<Uint8Array> {
  const bytes = await getBytes(client, `${kind}/${d.digest}`, limit, timeoutMs);
  const found = sha256(bytes);
  if (found !== d.digest) throw new PollFailed(`${client.origin}: ${kind.slice(0, -1)} ${short(d.digest)} does not match its digest (found ${short(found)})`);
  return bytes;
}
