/**
 * Installing one firmware into the inactive slot, in the order that keeps the device safe: every check that needs
 * no payload first (the statement's signature, name, architecture, version, size, not a build that failed before),
 * then the payload streamed into a temporary file on the slot with its size and SHA-256 checked as it comes, fsync,
 * rename, and a read-back from the disk checked again. Only then may the caller point BootNext at the slot. Nothing
 * here touches the running slot, and a refusal leaves the inactive slot's executable as it was.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { compareVersions, parseStatement, statementSignedBy, type FirmwareStatement } from '../contract/update/statement.ts';
import { digestOf, letThrough, type SlotFiles } from '../sys/slot-files.ts';

export class UpdateRefused extends Error {
  /** HTTP status for the API: 400 bad input, 403 signature, 409 conflict, 413 too big, 507 no space. */
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'UpdateRefused';
    this.status = status;
  }
}

export interface Running {
  name: string;
  version: string;
  buildId: string;
  arch: 'x86_64' | 'aarch64';
}

export interface Policy {
  key: KeyObject;
  allowDowngrade: boolean;
  /** Build ids that failed a trial. */
  failed: readonly string[];
  /** Install a build that failed before (an operator asked for it). */
  force: boolean;
}

/** The statement, checked against the device before a payload byte is read. Throws UpdateRefused. */
export function checkStatement(statementBytes: Uint8Array, signature: Uint8Array, running: Running, policy: Policy): FirmwareStatement {
  let statement: FirmwareStatement;
  try {
    statement = parseStatement(statementBytes);
  } catch (error) {
    throw new UpdateRefused(400, `not a kiln firmware: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!statementSignedBy(statementBytes, signature, policy.key)) {
    throw new UpdateRefused(
      403,
      `the signature of ${statement.version} (build ${statement.buildId}) is not from this device's update key (unsigned, signed with another key, or altered)`,
    );
  }
  if (statement.arch !== running.arch) throw new UpdateRefused(400, `build ${statement.buildId} is for ${statement.arch}; this device is ${running.arch}`);
  if (statement.name !== running.name)
    throw new UpdateRefused(400, `build ${statement.buildId} is firmware "${statement.name}"; this device runs "${running.name}"`);
  if (statement.buildId === running.buildId) throw new UpdateRefused(409, `build ${statement.buildId} is already running`);
  if (!policy.allowDowngrade && compareVersions(statement.version, running.version) < 0) {
    throw new UpdateRefused(409, `version ${statement.version} is older than the running ${running.version} (update.allowDowngrade is off)`);
  }
  if (policy.failed.includes(statement.buildId) && !policy.force) {
    throw new UpdateRefused(409, `build ${statement.buildId} failed its trial before; not trying it again unless asked (force)`);
  }
  return statement;
}

export interface WriteTarget {
  files: SlotFiles;
  /** The executable's path on the mounted slot. */
  file: string;
}

/**
 * A payload as it streams in, measured against its signed statement: longer than signed is refused at once; at the
 * end, a size or SHA-256 other than the statement's. One owner for the EFI (writePayload) and a slot's tree.
 */
export class PayloadMeter {
  size = 0;
  readonly #hash = createHash('sha256');
  readonly #statement: FirmwareStatement;
  readonly #onBytes: ((n: number) => void) | undefined;

  constructor(statement: FirmwareStatement, onBytes?: (n: number) => void) {
    this.#statement = statement;
    this.#onBytes = onBytes;
  }

  take(chunk: Uint8Array): void {
    this.size += chunk.length;
    if (this.size > this.#statement.size) throw new UpdateRefused(400, `the payload is longer than the statement's ${this.#statement.size} bytes`);
    this.#hash.update(chunk);
    this.#onBytes?.(this.size);
  }

  /** After the last chunk: throws unless the whole signed payload came. */
  finish(): void {
    const { size, sha256 } = this.#statement;
    if (this.size !== size) throw new UpdateRefused(400, `the payload ended after ${this.size} of ${size} bytes`);
    const digest = this.#hash.digest('hex');
    if (digest !== sha256)
      throw new UpdateRefused(400, `the payload's SHA-256 ${digest.slice(0, 16)}… is not the signed ${sha256.slice(0, 16)}… (altered or damaged in transit)`);
  }
}

/**
 * Streams `payload` into `<file>.new`, checking size and digest against the statement, then renames it into place
 * and reads it back. On any failure the temporary file is removed and the old executable stays. `onBytes` reports
 * progress.
 */
export async function writePayload(
  payload: AsyncIterable<Uint8Array>,
  statement: FirmwareStatement,
  target: WriteTarget,
  onBytes?: (n: number) => void,
): Promise<void> {
  const { files, file } = target;
  const temp = `${file}.new`;
  const dir = file.slice(0, file.lastIndexOf('/'));
  const meter = new PayloadMeter(statement, onBytes);
  const fd = files.create(temp);
  let open = true;
  try {
    for await (const chunk of payload) {
      meter.take(chunk);
      try {
        files.write(fd, chunk);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOSPC') throw new UpdateRefused(507, `the slot is full after ${meter.size} bytes: the ${statement.size}-byte firmware does not fit it`);
        throw error;
      }
      await letThrough(); // buffered chunks come as microtasks: let the watchdog's timer run between them
    }
    meter.finish();
    files.fsync(fd);
    files.close(fd);
    open = false;
    files.rename(temp, file);
    files.fsyncDir(dir);
  } catch (error) {
    if (open) files.close(fd);
    files.remove(temp);
    throw error;
  }
  files.dropCaches();
  const back = await digestOf(files, file);
  if (back.size !== statement.size || back.sha256 !== statement.sha256) {
    throw new UpdateRefused(
      500,
      `read back from the slot, the firmware is ${back.size} bytes with SHA-256 ${back.sha256.slice(0, 16)}…: the slot did not keep what was written`,
    );
  }
}
