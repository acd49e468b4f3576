/**
 * Container images at build time: a reference is resolved, for one architecture, into verified blobs in
 * kiln's cache (`<cacheDir>/blobs/sha256/<hex>`), and resolved images are written out as an OCI layout.
 *
 * References (skopeo's transports; paths relative to the config's folder, split from the tag at the first colon):
 *   oci:<dir>[:<tag>]                     OCI image layout folder; no tag: its only image
 *   oci-archive:<file>[:<tag>]            tar of an OCI image layout
 *   docker-archive:<file>[:<name:tag>]    `docker save` output, presented as an OCI manifest kiln makes
 *   host[:port]/repo[:tag|@sha256:<hex>]  registry over HTTPS (anonymous or bearer token); docker.io must be written
 *   http://127.0.0.1[:port]/repo[:tag]    plain HTTP, allowed only to a loopback registry (tests, local mirrors)
 *
 * An index (multi-architecture image) resolves to linux/amd64 for x86_64 and linux/arm64 (variant v8 or none)
 * for aarch64; the image config's platform is checked too. Layers stay as published (tar, tar+gzip,
 * tar+zstd: see layerCompression); the device unpacks them.
 */
export { resolveImage, type ResolveImageOptions, type ResolvedImage, type ImageLayer } from './resolve.js';
export { writeOciLayout, type LayoutImage } from './write-layout.js';
export { parseImageRef, type ImageRef, type RegistryRef } from './reference.js';
export { layerCompression, type LayerCompression } from './media-types.js';
export type { Arch } from './platform.js';
export type { Platform } from './manifest.js';
