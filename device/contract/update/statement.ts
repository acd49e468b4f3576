/**
 * The signed statement that makes a firmware installable: which build it is (name, version, build id, architecture)
 * and the size and SHA-256 of its payload, signed with the fleet's Ed25519 key (`kiln keys`). The payload is the one
 * UEFI executable (layout: initramfs), or with `format: "tar"` (layout: source) a tar archive of everything the slot
 * holds: the UKI at its slot path, linux_<arch>/ (Node, libraries, the build stamp) and src/ (kiln's TypeScript).
 *
 * Wire form: the statement as canonical JSON (keys sorted, no spaces, UTF-8) — the exact bytes that are signed —
 * and a raw 64-byte Ed25519 signature over them. Both travel base64 in `X-Kiln-Statement` / `X-Kiln-Signature`
 * headers of an upload, and as the statement blob plus a manifest annotation in an OCI artifact.
 *
 * Why not cosign's simple-signing payload: it binds to an OCI manifest digest, and a firmware sent straight to a
 * device over its API has no manifest. A statement over the executable's own digest serves both paths, is checked
 * before a byte reaches the slot (size, architecture, version, signature) and again after (the digest).
 * Ed25519: small keys, deterministic signatures, in node:crypto on the host (Node 20) and the device (Node 26).
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';

export const STATEMENT_TYPE = 'kiln-firmware/v1';

export interface FirmwareStatement {
  type: typeof STATEMENT_TYPE;
  /** The config's `name`: a device refuses a firmware of another name. */
  name: string;
  /** The config's `version` (dotted numbers): a device refuses an older one unless downgrades are allowed. */
  version: string;
  buildId: string;
  arch: 'x86_64' | 'aarch64';
  /** The payload's size in bytes and SHA-256 (lower-case hex). */
  size: number;
  sha256: string;
  /** kiln's version that built it. */
  kiln: string;
  /** Absent: the payload is the UEFI executable. "tar+gzip": a gzipped tar of the slot's files (layout: source). */
  format?: typeof TREE_FORMAT;
}

/** gzip rather than zstd: the host's Node 20 (which tests the device's reader) has no zstd, and gzip is ~6 % larger. */
export const TREE_FORMAT = 'tar+gzip';

const VERSION = /^\d{1,9}(\.\d{1,9}){0,3}$/;
const KEYS: readonly (keyof FirmwareStatement)[] = ['arch', 'buildId', 'format', 'kiln', 'name', 'sha256', 'size', 'type', 'version'];

/** The signed bytes: canonical JSON, so the host and the device agree on them byte for byte. */
export function encodeStatement(statement: FirmwareStatement): Uint8Array {
  checkStatement(statement, 'statement');
  const ordered: Record<string, unknown> = {};
  // An absent key stays absent: a statement without `format` is signed exactly as before the key existed.
  for (const key of KEYS) if (statement[key] !== undefined) ordered[key] = statement[key];
  return new TextEncoder().encode(JSON.stringify(ordered));
}

/** Parses the signed bytes; throws one line naming the field that is wrong. */
export function parseStatement(bytes: Uint8Array): FirmwareStatement {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new SyntaxError(`firmware statement: not UTF-8 JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new TypeError('firmware statement: not a JSON object');
  const record = raw as Record<string, unknown>;
  const extra = Object.keys(record).filter((key) => !(KEYS as readonly string[]).includes(key));
  if (extra.length > 0) throw new TypeError(`firmware statement: unknown key ${extra.map((k) => `"${k}"`).join(', ')}`);
  checkStatement(record, 'firmware statement');
  return record as unknown as FirmwareStatement;
}

function checkStatement(record: Record<string, unknown> | FirmwareStatement, where: string): void {
  const r = record as Record<string, unknown>;
  if (r.type !== STATEMENT_TYPE) throw new TypeError(`${where}: type ${JSON.stringify(r.type)} is not "${STATEMENT_TYPE}" (not a kiln firmware)`);
  for (const key of ['name', 'buildId', 'kiln'] as const) {
    if (typeof r[key] !== 'string' || r[key] === '') throw new TypeError(`${where}: ${key} must be a non-empty string`);
  }
  if (typeof r.version !== 'string' || !VERSION.test(r.version)) throw new TypeError(`${where}: version ${JSON.stringify(r.version)} is not like "1.4.2"`);
  if (r.arch !== 'x86_64' && r.arch !== 'aarch64') throw new TypeError(`${where}: arch ${JSON.stringify(r.arch)} is not x86_64 or aarch64`);
  if (typeof r.size !== 'number' || !Number.isSafeInteger(r.size) || r.size <= 0)
    throw new TypeError(`${where}: size must be a positive whole number of bytes`);
  if (typeof r.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(r.sha256)) throw new TypeError(`${where}: sha256 must be 64 lower-case hex digits`);
  if (r.format !== undefined && r.format !== TREE_FORMAT)
    throw new TypeError(`${where}: format ${JSON.stringify(r.format)} is not "${TREE_FORMAT}" (or absent, for a UEFI executable)`);
}

/** -1, 0 or 1: dotted numbers compared field by field, a missing field counting as 0 ("1.2" = "1.2.0"). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

export function isVersion(text: string): boolean {
  return VERSION.test(text);
}

/** The public key from its PEM (SPKI) text; throws a clear line for anything but an Ed25519 public key. */
export function publicKeyFromPem(pem: string, where: string): KeyObject {
  // createPublicKey derives a public key from a private one: a private key named here would be baked into firmware.
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) throw new TypeError(`${where}: a private key; name the public half (update.pub), never update.key`);
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    throw new TypeError(`${where}: not a PEM public key (${error instanceof Error ? error.message : String(error)})`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new TypeError(`${where}: a ${key.asymmetricKeyType} key; kiln signs updates with Ed25519 (kiln keys)`);
  return key;
}

/** True when `signature` is the key's Ed25519 signature of exactly these statement bytes. */
export function statementSignedBy(bytes: Uint8Array, signature: Uint8Array, key: KeyObject): boolean {
  if (signature.length !== 64) return false;
  return verify(null, bytes, key, signature);
}
