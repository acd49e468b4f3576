/**
 * The media types kiln reads (the manifest, index and config types are shared with the device:
 * device/contract/oci/media-types.ts) and the layer types. Layers are kept exactly as published; the device unpacks
 * them, so the compression is recorded here rather than undone.
 */
export {
  CONFIG_TYPES,
  DOCKER_CONFIG,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  INDEX_TYPES,
  MANIFEST_ACCEPT,
  MANIFEST_TYPES,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_MANIFEST,
} from '../../device/contract/oci/media-types.ts';

export const OCI_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';

export type LayerCompression = 'none' | 'gzip' | 'zstd';

const LAYER_TYPES: Record<string, LayerCompression> = {
  [OCI_LAYER_TAR]: 'none',
  'application/vnd.oci.image.layer.v1.tar+gzip': 'gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd': 'zstd',
  'application/vnd.oci.image.layer.nondistributable.v1.tar': 'none',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip': 'gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd': 'zstd',
  'application/vnd.docker.image.rootfs.diff.tar': 'none',
  'application/vnd.docker.image.rootfs.diff.tar.gzip': 'gzip',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip': 'gzip',
};

/**
 * How a layer of this media type is compressed, or undefined when it is not a filesystem layer kiln knows.
 * @example layerCompression('application/vnd.oci.image.layer.v1.tar+zstd') // 'zstd'
 */
export function layerCompression(mediaType: string): LayerCompression | undefined {
  return LAYER_TYPES[mediaType];
}

// Magic numbers at offset 0 of a compressed stream.
const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

/** Sniffs the compression of a layer file from its first bytes (docker-archive names none). */
export function sniffCompression(head: Uint8Array): LayerCompression {
  const starts = (magic: number[]) => magic.every((b, i) => head[i] === b);
  if (starts(GZIP_MAGIC)) return 'gzip';
  if (starts(ZSTD_MAGIC)) return 'zstd';
  return 'none';
}

/** The OCI layer media type for a compression. */
export function ociLayerType(compression: LayerCompression): string {
  return compression === 'none' ? OCI_LAYER_TAR : `${OCI_LAYER_TAR}+${compression}`;
}
