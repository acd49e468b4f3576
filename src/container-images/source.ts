/**
 * What resolveImage needs from where an image lives (a layout folder, an archive, a registry): its top
 * manifest by tag, manifests by digest, and blobs streamed into the verifying store. Sources check nothing
 * themselves; resolveImage verifies every byte against the digest that named it.
 */
import type { ImageBlobStore } from './blob-store.js';
import type { Descriptor } from './manifest.js';

export interface FetchedManifest {
  bytes: Buffer;
  /** What the container said the type is (a registry's Content-Type, a layout descriptor's mediaType). */
  mediaType?: string;
  /** The digest and size the source vouches for (a layout's index.json, a registry's Docker-Content-Digest). */
  expected?: { digest: string; size?: number };
}

export interface ImageSource {
  /** The manifest (or index) the reference's tag names, or its only image. */
  top(): Promise<FetchedManifest>;
  /** A manifest or index by digest. */
  manifest(digest: string): Promise<FetchedManifest>;
  /** Streams a blob into the store, which verifies it; returns its path. */
  blob(descriptor: Descriptor, store: ImageBlobStore): Promise<string>;
  /** Removes scratch files. */
  close(): Promise<void>;
}

export type Progress = (message: string) => void;
