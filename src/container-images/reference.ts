/**
 * Image references (syntax in device/contract/oci/image-ref.ts, shared with the device): parsed there, with its
 * errors turned into the CLI's KilnError (code IMAGE_REF) here.
 */
import { ImageRefError, isLoopback, parseImageRef as parse, type ImageRef } from '../../device/contract/oci/image-ref.ts';
import { KilnError } from '../util/errors.js';

export { DIGEST_PATTERN, isLoopback, type ImageRef, type RegistryRef } from '../../device/contract/oci/image-ref.ts';

/**
 * Parses an image reference; throws a KilnError (code IMAGE_REF) saying how to write it.
 * @example parseImageRef('ghcr.io/acme/app:1.2') // { transport: 'registry', origin: 'https://ghcr.io', repository: 'acme/app', tag: '1.2', ... }
 */
export function parseImageRef(ref: string): ImageRef {
  try {
    return parse(ref);
  } catch (error) {
    if (error instanceof ImageRefError) throw new KilnError('IMAGE_REF', error.message, { hint: error.hint });
    throw error;
  }
}

/** Where the host fetches registry tokens from (pulls and pushes): HTTPS, or plain HTTP from a registry on this machine. */
export function tokenRealmAllowed(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url.host));
}
