/**
 * The OCI image-spec v1 media types and their Docker "v2 schema 2" twins, which registries still serve for images
 * pushed by Docker. Shared: the device reads its store and pulls with them, the host (src/container-images/media-types.ts)
 * resolves and writes images with them.
 */
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';

/** What a registry is asked for: image manifests and indexes of both families. */
export const MANIFEST_ACCEPT = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST].join(', ');

export const INDEX_TYPES: readonly string[] = [OCI_INDEX, DOCKER_MANIFEST_LIST];
export const MANIFEST_TYPES: readonly string[] = [OCI_MANIFEST, DOCKER_MANIFEST];
export const CONFIG_TYPES: readonly string[] = [OCI_CONFIG, DOCKER_CONFIG];

/** OCI image-spec 1.1's empty descriptor: the config of an artifact that needs none, the two bytes `{}`. */
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';

/**
 * A kiln firmware as an OCI artifact (`kiln push`; the device pulls it): the manifest's `artifactType`, and its two
 * layers — the UEFI executable and the signed statement (device/contract/update/statement.ts) — in that order.
 */
export const KILN_FIRMWARE = 'application/vnd.kiln.firmware.v1';
export const KILN_FIRMWARE_EFI = 'application/vnd.kiln.firmware.efi.v1';
/** A slot's whole tree as one gzipped tar (layout: source): the UKI, linux_<arch>/ and src/ (statement.ts, format "tar+gzip"). */
export const KILN_FIRMWARE_TREE = 'application/vnd.kiln.firmware.tree.v1.tar+gzip';
export const KILN_FIRMWARE_STATEMENT = 'application/vnd.kiln.firmware.statement.v1+json';
