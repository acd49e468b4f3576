/** Errors of the image store and of unpacking images; apart so the store and prepare-rootfs share them. */

/** What the layout holds does not match what describes it; names the blob, and expected versus found. */
export class BlobMismatchError extends Error {
  readonly expected: string;
  readonly found: string;
  constructor(digest: string, what: 'digest' | 'size', expected: string, found: string) {
    super(`Blob ${digest} is corrupt: ${what} expected ${expected}, found ${found}`);
    this.name = 'BlobMismatchError';
    this.expected = expected;
    this.found = found;
  }
}

/** The layout is unusable or lacks what was asked for. */
export class ImageStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageStoreError';
  }
}
