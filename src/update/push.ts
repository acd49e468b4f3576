/**
 * `kiln push`'s upload: a release's artifact (artifact.ts) to a registry, by the OCI distribution spec's push flow
 * through the one distribution client (device/contract/oci/distribution-client.ts): each blob HEADed first and
 * uploaded only when missing (POST, then one PUT streamed from disk for each payload), each architecture's manifest PUT
 * by its digest, and the index PUT under the tag last — so the tag never names something half there, and a push
 * that breaks off leaves only unreferenced blobs, which the next push reuses.
 *
 * HTTPS always, except to a loopback registry written `http://127.0.0.1:<port>/…` (reference.ts decides);
 * anonymous, or with the bearer-token flow's anonymous token.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { DistributionClient, DistributionError, type DistributionFailure } from '../../device/contract/oci/distribution-client.ts';
import { describeFetchError } from '../../device/contract/oci/fetch-error.ts';
import { ImageRefError, parseImageRef, type RegistryRef } from '../../device/contract/oci/image-ref.ts';
import type { ArtifactDescriptor } from '../../device/contract/update/artifact-pick.ts';
import { TREE_FORMAT } from '../../device/contract/update/statement.ts';
import { tokenRealmAllowed } from '../container-images/reference.js';
import { KilnError } from '../util/errors.js';
import type { Reporter } from '../util/report.js';
import { EMPTY_CONFIG, firmwareArtifact, type FirmwareArtifact, type SignedFirmware } from './artifact.js';

export interface PushTarget extends RegistryRef {
  tag: string;
}

/** One architecture to push: the signed statement and the payload file it describes (the EFI, or a slot tree's tar). */
export interface PushFirmware extends SignedFirmware {
  payloadPath: string;
}

export interface PushResult {
  /** `registry/repository:tag` (the registry as written in --to). */
  ref: string;
  /** The index's digest: what the tag names now. */
  digest: string;
  manifests: { arch: string; digest: string }[];
  /** Blob digests uploaded by this push, and those the registry had already. */
  uploaded: string[];
  present: string[];
}

const TOKEN_TIMEOUT_MS = 60_000;

/** `--to`: a registry, a repository and a tag (no digest: a push names what it makes). */
export function parsePushTarget(to: string): PushTarget {
  let ref;
  try {
    ref = parseImageRef(to);
  } catch (error) {
    if (!(error instanceof ImageRefError)) throw error;
    throw new KilnError('PUSH_TARGET', `--to ${error.message.replace(`image "${to}": `, `${to}: `)}`, { hint: error.hint });
  }
  const hint =
    'write --to REGISTRY/REPOSITORY:TAG, e.g. --to REGISTRY/fleet/gateway:1.4.2 (http://127.0.0.1:PORT/… for a registry on this machine without TLS)';
  if (ref.transport !== 'registry') throw new KilnError('PUSH_TARGET', `--to ${to}: kiln pushes to a registry, not to ${ref.transport}:`, { hint });
  if (ref.digest !== undefined) throw new KilnError('PUSH_TARGET', `--to ${to}: a push names a tag, not a digest`, { hint });
  return { ...ref, tag: ref.tag ?? 'latest' };
}

/** A client for the target, taking tokens only from HTTPS or loopback realms. */
function clientFor(target: PushTarget): DistributionClient {
  return new DistributionClient({ origin: target.origin, repository: target.repository, tokenTimeoutMs: TOKEN_TIMEOUT_MS, tokenRealmAllowed });
}

/** Asks the registry about one blob with the push scope: unreachable or refused shows before a long build, not after. */
export async function checkPushTarget(target: PushTarget): Promise<void> {
  await withWords(target, 'the repository', () => clientFor(target).hasBlob(EMPTY_CONFIG.descriptor.digest));
}

/**
 * Pushes one release: every firmware's payload, statement and manifest, then the index under the tag.
 * @example await pushFirmware(parsePushTarget('http://127.0.0.1:5000/fleet/gw:1.4.2'), [{ payloadPath, statementBytes, signature }], { reporter })
 */
export async function pushFirmware(
  target: PushTarget,
  firmwares: readonly PushFirmware[],
  options: { reporter: Reporter; created?: Date },
): Promise<PushResult> {
  const artifact = firmwareArtifact(firmwares, options.created === undefined ? {} : { created: options.created });
  await checkPayloadFiles(firmwares, artifact);
  const client = clientFor(target);
  const ref = `${target.name}:${target.tag}`;
  const uploaded: string[] = [];
  const present: string[] = [];
  const pushBlob = async (descriptor: ArtifactDescriptor, body: () => BodyInit, label: string) => {
    if (uploaded.includes(descriptor.digest) || present.includes(descriptor.digest)) return;
    if (await withWords(target, `blob ${descriptor.digest}`, () => client.hasBlob(descriptor.digest))) {
      options.reporter.info(`${label}: already in ${target.name}`);
      present.push(descriptor.digest);
      return;
    }
    if (descriptor.size >= 1 << 20) options.reporter.info(`uploading ${label} (${(descriptor.size / 1e6).toFixed(1)} MB)`);
    await withWords(target, `the upload of ${label}`, () => client.putBlob(descriptor.digest, descriptor.size, body));
    uploaded.push(descriptor.digest);
  };
  const putManifest = async (reference: string, blob: { descriptor: ArtifactDescriptor; bytes: Uint8Array }, what: string) => {
    const stored = await withWords(target, what, () => client.putManifest(reference, blob.descriptor.mediaType, blob.bytes));
    if (stored !== undefined && stored !== blob.descriptor.digest) {
      throw new KilnError('PUSH_REFUSED', `${target.name}: stored ${what} as ${stored}, not ${blob.descriptor.digest} as sent`, {
        hint: 'the registry rewrote the manifest; devices verify it by digest, so push to a registry that keeps manifests as sent',
      });
    }
  };

  options.reporter.step(`pushing ${ref} (${artifact.arches.map((a) => a.statement.arch).join(', ')})`);
  await pushBlob(EMPTY_CONFIG.descriptor, () => bodyOf(EMPTY_CONFIG.bytes), 'the empty config');
  for (const [i, arch] of artifact.arches.entries()) {
    const name = arch.statement.arch;
    const what = arch.statement.format === TREE_FORMAT ? `the ${name} slot tree` : `the ${name} EFI`;
    await pushBlob(arch.payload, () => payloadBody(firmwares[i]!.payloadPath, arch.payload.size, options.reporter, `uploading ${what}`), what);
    await pushBlob(arch.statementBlob.descriptor, () => bodyOf(arch.statementBlob.bytes), `the ${name} statement`);
    await putManifest(arch.manifest.descriptor.digest, arch.manifest, `the ${name} manifest`);
  }
  await putManifest(target.tag, artifact.index, `the index (tag ${target.tag})`);
  return {
    ref,
    digest: artifact.index.descriptor.digest,
    manifests: artifact.arches.map((a) => ({ arch: a.statement.arch, digest: a.manifest.descriptor.digest })),
    uploaded,
    present,
  };
}

/** The files must still be what was signed (size here; the registry checks the digest). */
async function checkPayloadFiles(firmwares: readonly PushFirmware[], artifact: FirmwareArtifact): Promise<void> {
  for (const [i, arch] of artifact.arches.entries()) {
    const file = firmwares[i]!.payloadPath;
    const size = await stat(file).then(
      (s) => s.size,
      (error: NodeJS.ErrnoException) => {
        throw new KilnError('PUSH_PAYLOAD', `${file}: cannot read (${error.code ?? String(error)})`);
      },
    );
    if (size !== arch.payload.size) {
      throw new KilnError('PUSH_PAYLOAD', `${file}: ${size} bytes, but its statement signs ${arch.payload.size}`, {
        hint: 'the file changed after it was signed: build again',
      });
    }
  }
}

const bodyOf = (bytes: Uint8Array): BodyInit => bytes as Uint8Array<ArrayBuffer>;

/** The payload streamed from disk (never held whole in memory), counted into a progress bar. */
function payloadBody(file: string, size: number, reporter: Reporter, label: string): BodyInit {
  const progress = reporter.progress(label, size);
  let done = 0;
  const counted = createReadStream(file, { highWaterMark: 1 << 20 }).pipe(
    new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        done += chunk.length;
        progress.update(done);
        callback(null, chunk);
      },
    }),
  );
  counted.once('close', () => progress.stop());
  return Readable.toWeb(counted) as unknown as BodyInit;
}

/** Runs one request, wording a distribution failure as the CLI's one line with a hint. */
async function withWords<T>(target: PushTarget, what: string, request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    if (error instanceof DistributionError) throw describe(target, error.failure, what);
    throw error;
  }
}

function describe(target: PushTarget, f: DistributionFailure, what: string): KilnError {
  const name = target.name;
  const anonymous = 'kiln pushes anonymously (or with the anonymous token of a bearer challenge): the registry must let anyone push to this repository';
  switch (f.kind) {
    case 'unreachable':
      return new KilnError('PUSH_UNREACHABLE', `registry ${target.origin} is unreachable (${describeFetchError(f.cause)})`, {
        hint: target.origin.startsWith('https:')
          ? 'check the host name and your network (a registry on this machine without TLS: --to http://127.0.0.1:PORT/…)'
          : 'is the registry running?',
      });
    case 'status': {
      const detail = f.detail === undefined ? '' : `: ${f.detail}`;
      if (f.status === 401 || f.status === 403) return new KilnError('PUSH_AUTH', `${name} refused ${what} (HTTP ${f.status}${detail})`, { hint: anonymous });
      return new KilnError('PUSH_REFUSED', `${name} answered HTTP ${f.status} for ${what}${detail}`, {
        hint: f.status === 405 ? 'this registry (or mirror) does not accept pushes' : 'check the repository name and the registry',
      });
    }
    case 'challenge':
      return new KilnError('PUSH_AUTH', `${name} requires ${f.scheme === undefined ? 'authentication' : `${f.scheme} authentication`} (HTTP 401)`, {
        hint: anonymous,
      });
    case 'realm':
      return new KilnError('PUSH_AUTH', `${name} sent an unusable token realm "${f.realm}"`, { hint: 'check the registry' });
    case 'insecure-realm':
      return new KilnError('PUSH_AUTH', `${name} wants a token from ${f.tokenOrigin}, which is not HTTPS`, { hint: 'check the registry' });
    case 'token-unreachable':
      return new KilnError('PUSH_UNREACHABLE', `token server ${f.tokenOrigin} is unreachable (${describeFetchError(f.cause)})`, { hint: 'check your network' });
    case 'token-refused':
      return new KilnError('PUSH_AUTH', `${f.tokenOrigin} refused an anonymous token for ${target.repository} (HTTP ${f.status})`, { hint: anonymous });
    case 'token-missing':
      return new KilnError('PUSH_AUTH', `${f.tokenOrigin} answered without a token`, { hint: 'check the registry' });
  }
}
