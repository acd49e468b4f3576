/** The firmware artifact as a device reads it, from documents written here by hand (the writer is the host's). */
import { describe, expect, it } from 'vitest';
import { firmwareLayers, pickFirmware, FirmwareArtifactError } from './artifact-pick.ts';

const D = (c: string) => `sha256:${c.repeat(64)}`;
const SIG = Buffer.alloc(64, 9).toString('base64');
const KILN = 'application/vnd.kiln.firmware.v1';
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

const manifest = (over: Record<string, unknown> = {}, annotations: Record<string, string> = {}) => ({
  schemaVersion: 2,
  mediaType: MANIFEST,
  artifactType: KILN,
  config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: D('4'), size: 2 },
  layers: [
    { mediaType: 'application/vnd.kiln.firmware.efi.v1', digest: D('e'), size: 40_000_000 },
    { mediaType: 'application/vnd.kiln.firmware.statement.v1+json', digest: D('5'), size: 212 },
  ],
  annotations: {
    'dev.kiln.arch': 'x86_64',
    'dev.kiln.build-id': '0123456789abcdef',
    'dev.kiln.signature': SIG,
    'org.opencontainers.image.version': '1.4.2',
    ...annotations,
  },
  ...over,
});
const entry = (arch: string, digest: string, platform: string) => ({
  mediaType: MANIFEST,
  digest,
  size: 900,
  artifactType: KILN,
  platform: { architecture: platform, os: 'linux' },
  annotations: { 'dev.kiln.arch': arch },
});
const index = (over: Record<string, unknown> = {}) => ({
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.index.v1+json',
  artifactType: KILN,
  manifests: [entry('x86_64', D('a'), 'amd64'), entry('aarch64', D('b'), 'arm64')],
  ...over,
});

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(FirmwareArtifactError);
    return (error as Error).message;
  }
  throw new Error('expected a FirmwareArtifactError');
}

describe('pickFirmware', () => {
  it("picks the architecture's manifest from an index by kiln's name", () => {
    expect(pickFirmware(bytes(index()), 'aarch64')).toEqual({ kind: 'index', manifest: entry('aarch64', D('b'), 'arm64') });
    expect(pickFirmware(bytes(index()), 'x86_64')).toMatchObject({ kind: 'index', manifest: { digest: D('a') } });
  });

  it('takes an index without artifactType, as a mirror may write it anew, and leaves the check to the manifest', () => {
    const rewritten = index({ artifactType: undefined, manifests: index().manifests.map(({ artifactType: _, ...rest }) => rest) });
    expect(pickFirmware(bytes(rewritten), 'x86_64')).toMatchObject({ kind: 'index', manifest: { digest: D('a') } });
    expect(message(() => firmwareLayers(bytes(manifest({ artifactType: undefined })), 'x86_64'))).toBe(
      'not a kiln firmware artifact (artifactType "application/vnd.oci.empty.v1+json", not "application/vnd.kiln.firmware.v1")',
    );
  });

  it('takes a single manifest as it is', () => {
    expect(pickFirmware(bytes(manifest()), 'x86_64')).toMatchObject({ kind: 'manifest', firmware: { payload: { digest: D('e') }, version: '1.4.2' } });
  });

  it('names what the artifact has when the architecture is missing', () => {
    expect(message(() => pickFirmware(bytes(index({ manifests: [entry('x86_64', D('a'), 'amd64')] })), 'aarch64'))).toBe(
      'no firmware for aarch64 (the artifact has: x86_64)',
    );
    expect(message(() => pickFirmware(bytes(index({ manifests: [] })), 'aarch64'))).toBe('no firmware for aarch64 (the artifact has: none)');
    expect(message(() => pickFirmware(bytes(manifest()), 'aarch64'))).toBe('no firmware for aarch64 (the artifact has: x86_64)');
  });

  it('says "not a kiln firmware artifact" for a container image or another artifact', () => {
    expect(message(() => pickFirmware(bytes(index({ artifactType: 'application/vnd.cncf.helm.chart' })), 'x86_64'))).toBe(
      'not a kiln firmware artifact (artifactType "application/vnd.cncf.helm.chart", not "application/vnd.kiln.firmware.v1")',
    );
    const image = manifest({ artifactType: undefined, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: D('c'), size: 300 } });
    expect(message(() => pickFirmware(bytes(image), 'x86_64'))).toBe(
      'not a kiln firmware artifact (artifactType "application/vnd.oci.image.config.v1+json", not "application/vnd.kiln.firmware.v1")',
    );
    expect(message(() => pickFirmware(bytes({ ...index(), mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json' }), 'x86_64'))).toBe(
      'not a kiln firmware artifact (a document of type application/vnd.docker.distribution.manifest.list.v2+json)',
    );
    const unnamed = index({ manifests: [{ ...entry('x86_64', D('a'), 'amd64'), annotations: undefined }] });
    expect(message(() => pickFirmware(bytes(unnamed), 'x86_64'))).toBe('not a kiln firmware artifact (manifests.0 has no dev.kiln.arch annotation)');
  });

  it('refuses an index with two firmwares for one architecture, and broken JSON, with one line each', () => {
    const twice = index({ manifests: [entry('x86_64', D('a'), 'amd64'), entry('x86_64', D('c'), 'amd64')] });
    expect(message(() => pickFirmware(bytes(twice), 'x86_64'))).toBe('firmware artifact: 2 firmwares for x86_64 in the index');
    expect(message(() => pickFirmware(Buffer.from('{"schemaVersion":2,'), 'x86_64'))).toMatch(/^firmware artifact: not UTF-8 JSON \(/);
    expect(message(() => pickFirmware(bytes([]), 'x86_64'))).toBe('firmware artifact: not a JSON object');
    expect(message(() => pickFirmware(bytes(index({ schemaVersion: 1 })), 'x86_64'))).toBe('firmware artifact: schemaVersion: expected 2');
    const bad = index({ manifests: [{ ...entry('x86_64', 'sha256:abc', 'amd64') }] });
    expect(message(() => pickFirmware(bytes(bad), 'x86_64'))).toBe('firmware artifact: manifests.0.digest: expected "sha256:" and 64 lowercase hex digits');
  });
});

describe('firmwareLayers', () => {
  it('gives the payload (EFI) and statement layers, the signature, the version and the build id', () => {
    const layers = firmwareLayers(bytes(manifest()), 'x86_64');
    expect(layers).toEqual({
      payload: { mediaType: 'application/vnd.kiln.firmware.efi.v1', digest: D('e'), size: 40_000_000 },
      statement: { mediaType: 'application/vnd.kiln.firmware.statement.v1+json', digest: D('5'), size: 212 },
      signature: new Uint8Array(64).fill(9),
      arch: 'x86_64',
      version: '1.4.2',
      buildId: '0123456789abcdef',
    });
  });

  it('falls back on the config media type as the artifact type (image-spec 1.1)', () => {
    const old = manifest({ artifactType: undefined, config: { mediaType: KILN, digest: D('4'), size: 2 } });
    expect(firmwareLayers(bytes(old), 'x86_64').payload.digest).toBe(D('e'));
  });

  it('says which layer or annotation is missing', () => {
    const only = (mediaType: string) => manifest({ layers: manifest().layers.filter((l) => l.mediaType !== mediaType) });
    expect(message(() => firmwareLayers(bytes(only('application/vnd.kiln.firmware.efi.v1')), 'x86_64'))).toBe(
      'not a kiln firmware artifact (no application/vnd.kiln.firmware.efi.v1 or application/vnd.kiln.firmware.tree.v1.tar+gzip layer)',
    );
    expect(message(() => firmwareLayers(bytes(only('application/vnd.kiln.firmware.statement.v1+json')), 'x86_64'))).toBe(
      'not a kiln firmware artifact (no application/vnd.kiln.firmware.statement.v1+json layer)',
    );
    const doubled = manifest({ layers: [...manifest().layers, manifest().layers[0]] });
    expect(message(() => firmwareLayers(bytes(doubled), 'x86_64'))).toBe(
      'not a kiln firmware artifact (2 application/vnd.kiln.firmware.efi.v1 or application/vnd.kiln.firmware.tree.v1.tar+gzip layers)',
    );
    // A layout: source firmware's payload is its slot's tree; an EFI beside it makes two payloads.
    const tree = { mediaType: 'application/vnd.kiln.firmware.tree.v1.tar+gzip', digest: D('7'), size: 150_000_000 };
    expect(firmwareLayers(bytes(manifest({ layers: [tree, manifest().layers[1]] })), 'x86_64').payload).toEqual(tree);
    expect(message(() => firmwareLayers(bytes(manifest({ layers: [...manifest().layers, tree] })), 'x86_64'))).toBe(
      'not a kiln firmware artifact (2 application/vnd.kiln.firmware.efi.v1 or application/vnd.kiln.firmware.tree.v1.tar+gzip layers)',
    );
    const { ['dev.kiln.signature']: _, ...unsigned } = manifest().annotations;
    expect(message(() => firmwareLayers(bytes(manifest({ annotations: unsigned })), 'x86_64'))).toBe(
      'not a kiln firmware artifact (no dev.kiln.signature annotation)',
    );
    expect(message(() => firmwareLayers(bytes(manifest({}, { 'dev.kiln.signature': 'c2ln' })), 'x86_64'))).toBe(
      'firmware artifact: annotations.dev.kiln.signature: expected the base64 of a 64-byte Ed25519 signature',
    );
    expect(message(() => firmwareLayers(bytes(manifest({}, { 'org.opencontainers.image.version': '' })), 'x86_64'))).toBe(
      'not a kiln firmware artifact (no org.opencontainers.image.version annotation)',
    );
  });

  it('refuses a statement layer too big to be one, and an index where a manifest belongs', () => {
    const big = manifest({ layers: [manifest().layers[0], { ...manifest().layers[1], size: 1 << 20 }] });
    expect(message(() => firmwareLayers(bytes(big), 'x86_64'))).toBe(
      'firmware artifact: layers: the statement layer claims 1048576 bytes, more than a statement can be',
    );
    expect(message(() => firmwareLayers(bytes(index()), 'x86_64'))).toBe(
      'not a kiln firmware artifact (a document of type application/vnd.oci.image.index.v1+json, not an image manifest)',
    );
  });
});
