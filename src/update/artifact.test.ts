import { createHash, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { firmwareLayers, pickFirmware } from '../../device/contract/update/artifact-pick.ts';
import { encodeStatement, statementSignedBy, type FirmwareStatement } from '../../device/contract/update/statement.ts';
import { EMPTY_CONFIG, firmwareArtifact, type SignedFirmware } from './artifact.js';
import { signStatement } from './keys.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const statement = (arch: FirmwareStatement['arch'], extra: Partial<FirmwareStatement> = {}): FirmwareStatement => ({
  type: 'kiln-firmware/v1',
  name: 'gateway',
  version: '1.4.2',
  buildId: arch === 'x86_64' ? '0123456789abcdef' : 'fedcba9876543210',
  arch,
  size: 4096,
  sha256: createHash('sha256').update(arch).digest('hex'),
  kiln: '0.1.0',
  ...extra,
});
const signed = (s: FirmwareStatement): SignedFirmware => {
  const { bytes, signature } = signStatement(s, privateKey);
  return { statementBytes: bytes, signature };
};
/** A fixed signature, so the bytes of the documents can be compared across runs. */
const fixed = (s: FirmwareStatement): SignedFirmware => ({ statementBytes: encodeStatement(s), signature: new Uint8Array(64).fill(7) });
const json = (bytes: Uint8Array) => JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, any>;

describe('firmwareArtifact', () => {
  it('writes an index over one image manifest per architecture, as image-spec 1.1 artifacts', () => {
    const artifact = firmwareArtifact([fixed(statement('x86_64')), fixed(statement('aarch64'))]);
    const [x86, arm] = artifact.arches;
    expect(json(EMPTY_CONFIG.bytes)).toEqual({});
    expect(EMPTY_CONFIG.descriptor).toEqual({
      mediaType: 'application/vnd.oci.empty.v1+json',
      digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
      size: 2,
    });
    expect(json(x86!.manifest.bytes)).toEqual({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.kiln.firmware.v1',
      config: EMPTY_CONFIG.descriptor,
      layers: [
        {
          mediaType: 'application/vnd.kiln.firmware.efi.v1',
          digest: `sha256:${statement('x86_64').sha256}`,
          size: 4096,
          annotations: { 'org.opencontainers.image.title': 'BOOTX64.EFI' },
        },
        {
          mediaType: 'application/vnd.kiln.firmware.statement.v1+json',
          digest: x86!.statementBlob.descriptor.digest,
          size: x86!.statementBlob.bytes.length,
          annotations: { 'org.opencontainers.image.title': 'statement.json' },
        },
      ],
      annotations: {
        'dev.kiln.arch': 'x86_64',
        'dev.kiln.build-id': '0123456789abcdef',
        'dev.kiln.signature': Buffer.alloc(64, 7).toString('base64'),
        'org.opencontainers.image.title': 'gateway',
        'org.opencontainers.image.version': '1.4.2',
      },
    });
    expect(json(artifact.index.bytes)).toEqual({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      artifactType: 'application/vnd.kiln.firmware.v1',
      manifests: [
        {
          ...x86!.manifest.descriptor,
          artifactType: 'application/vnd.kiln.firmware.v1',
          platform: { architecture: 'amd64', os: 'linux' },
          annotations: { 'dev.kiln.arch': 'x86_64' },
        },
        {
          ...arm!.manifest.descriptor,
          artifactType: 'application/vnd.kiln.firmware.v1',
          platform: { architecture: 'arm64', os: 'linux' },
          annotations: { 'dev.kiln.arch': 'aarch64' },
        },
      ],
      annotations: { 'org.opencontainers.image.title': 'gateway', 'org.opencontainers.image.version': '1.4.2' },
    });
    expect(Buffer.from(x86!.statementBlob.bytes).toString()).toBe(Buffer.from(encodeStatement(statement('x86_64'))).toString());
  });

  it('gives the same bytes for the same inputs, and a created annotation only when asked', () => {
    const make = (created?: Date) => firmwareArtifact([fixed(statement('x86_64')), fixed(statement('aarch64'))], created ? { created } : {});
    expect(Buffer.from(make().index.bytes).equals(Buffer.from(make().index.bytes))).toBe(true);
    // Golden: a change to any document's bytes changes this digest; update it only on purpose.
    expect(make().index.descriptor.digest).toBe('sha256:b131ab79fe57da75cff7d11daaf8f1b7600f35f727c7fd5ef0c00cb02bf1c158');
    expect(make().index.bytes.includes(0x20)).toBe(false);
    const dated = make(new Date(1_700_000_000_000));
    expect(json(dated.index.bytes).annotations['org.opencontainers.image.created']).toBe('2023-11-14T22:13:20Z');
    expect(json(dated.arches[0]!.manifest.bytes).annotations['org.opencontainers.image.created']).toBe('2023-11-14T22:13:20Z');
    expect(JSON.stringify(json(make().index.bytes))).not.toContain('created');
  });

  it('is read back by the device: each architecture, its layers and a signature that verifies', () => {
    const artifact = firmwareArtifact([signed(statement('x86_64')), signed(statement('aarch64'))]);
    for (const [i, arch] of (['x86_64', 'aarch64'] as const).entries()) {
      const pick = pickFirmware(artifact.index.bytes, arch);
      expect(pick).toEqual({ kind: 'index', manifest: json(artifact.index.bytes).manifests[i] });
      const layers = firmwareLayers(artifact.arches[i]!.manifest.bytes, arch);
      expect(layers.payload).toEqual(artifact.arches[i]!.payload);
      expect(layers.statement).toEqual(artifact.arches[i]!.statementBlob.descriptor);
      expect(statementSignedBy(artifact.arches[i]!.statementBlob.bytes, layers.signature, publicKey)).toBe(true);
      expect({ version: layers.version, buildId: layers.buildId }).toEqual({ version: '1.4.2', buildId: statement(arch).buildId });
    }
  });

  it('refuses what is not one release', () => {
    expect(() => firmwareArtifact([])).toThrow('firmwareArtifact: no firmware');
    expect(() => firmwareArtifact([fixed(statement('x86_64')), fixed(statement('x86_64'))])).toThrow('firmwareArtifact: two firmwares for x86_64');
    expect(() => firmwareArtifact([fixed(statement('x86_64')), fixed(statement('aarch64', { version: '1.5' }))])).toThrow(
      'firmwareArtifact: aarch64 is gateway 1.5, x86_64 gateway 1.4.2: one release per artifact',
    );
    expect(() => firmwareArtifact([{ statementBytes: encodeStatement(statement('x86_64')), signature: new Uint8Array(63) }])).toThrow(
      'firmwareArtifact: the x86_64 signature is 63 bytes, not 64',
    );
    expect(() => firmwareArtifact([{ statementBytes: Buffer.from('{}'), signature: new Uint8Array(64) }])).toThrow('not a kiln firmware');
  });
});
