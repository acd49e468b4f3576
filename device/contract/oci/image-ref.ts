/**
 * Image references in skopeo's transport syntax, parsed without I/O:
 *   oci:<dir>[:<tag>]              an OCI image layout folder
 *   oci-archive:<file>[:<tag>]     a tar of an OCI image layout
 *   docker-archive:<file>[:<name:tag>]   `docker save` output
 *   [docker://]host[:port]/repo[:tag|@sha256:<hex>]   a registry (HTTPS)
 *   http://<loopback>[:port]/repo[:tag]   a registry on this machine over plain HTTP (tests, local mirrors)
 * The path is split from the tag at the first colon, as skopeo does, so paths cannot hold one.
 * Pure, and shared: the host checks and pins references with it (src/container-images/reference.ts wraps the errors), the
 * device finds the registry of an image it must pull.
 */

export type ImageRef =
  { transport: 'oci' | 'oci-archive'; path: string; tag?: string } | { transport: 'docker-archive'; path: string; name?: string } | RegistryRef;

export interface RegistryRef {
  transport: 'registry';
  /** Where the distribution API lives, e.g. "https://ghcr.io" (docker.io becomes registry-1.docker.io). */
  origin: string;
  /** "ghcr.io/acme/app", for messages and scopes. */
  name: string;
  repository: string;
  /** Set unless only a digest was given; "latest" when neither was. */
  tag?: string;
  digest?: string;
}

export const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;
const TAG_PATTERN = /^\w[\w.-]{0,127}$/;
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REPOSITORY_PATTERN = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const HOST_PATTERN = /^(?:[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*|\[[0-9a-fA-F:]+\])(?::\d{1,5})?$/;

/** A reference kiln cannot use: the message names it and the problem; the hint says how to write it. */
export class ImageRefError extends Error {
  readonly hint: string;
  constructor(message: string, hint: string) {
    super(message);
    this.name = 'ImageRefError';
    this.hint = hint;
  }
}

function refError(ref: string, problem: string, hint: string): ImageRefError {
  return new ImageRefError(`image "${ref}": ${problem}`, hint);
}

/**
 * Parses an image reference; throws an ImageRefError saying how to write it.
 * @example parseImageRef('ghcr.io/acme/app:1.2') // { transport: 'registry', origin: 'https://ghcr.io', repository: 'acme/app', tag: '1.2', ... }
 */
export function parseImageRef(ref: string): ImageRef {
  for (const transport of ['oci', 'oci-archive', 'docker-archive'] as const) {
    if (!ref.startsWith(`${transport}:`)) continue;
    const rest = ref.slice(transport.length + 1);
    const colon = rest.indexOf(':');
    const file = colon < 0 ? rest : rest.slice(0, colon);
    const suffix = colon < 0 ? undefined : rest.slice(colon + 1);
    if (file === '') throw refError(ref, 'no path', `write ${transport}:<path relative to the config>[:<tag>]`);
    if (transport === 'docker-archive') return suffix ? { transport, path: file, name: suffix } : { transport, path: file };
    if (suffix !== undefined && !TAG_PATTERN.test(suffix))
      throw refError(ref, `"${suffix}" is not a valid tag`, 'a tag is letters, digits, "_", "." and "-", up to 128 characters');
    return suffix ? { transport, path: file, tag: suffix } : { transport, path: file };
  }
  return parseRegistryRef(ref);
}

function parseRegistryRef(ref: string): RegistryRef {
  let rest = ref;
  let scheme = 'https';
  if (rest.startsWith('docker://')) rest = rest.slice('docker://'.length);
  else if (rest.startsWith('http://')) {
    scheme = 'http';
    rest = rest.slice('http://'.length);
  } else if (/^[a-z][a-z0-9+.-]*:\/\//.test(rest)) {
    throw refError(ref, 'unknown scheme', 'write oci:, oci-archive:, docker-archive: or host/repository:tag');
  }
  const at = rest.indexOf('@');
  const digest = at < 0 ? undefined : rest.slice(at + 1);
  if (at >= 0) rest = rest.slice(0, at);
  if (digest !== undefined && !DIGEST_PATTERN.test(digest))
    throw refError(ref, `"${digest}" is not a sha256 digest`, 'write @sha256: followed by 64 lowercase hex digits');

  const slash = rest.indexOf('/');
  const host = slash < 0 ? '' : rest.slice(0, slash);
  if (slash < 0 || !(host.includes('.') || host.includes(':') || host === 'localhost') || !HOST_PATTERN.test(host)) {
    const example = rest.includes('/') ? rest : `library/${rest || 'busybox'}`;
    throw refError(ref, 'no registry host', `kiln does not guess docker.io: write the registry, e.g. docker.io/${example}`);
  }
  let path = rest.slice(slash + 1);
  let tag: string | undefined;
  const colon = path.lastIndexOf(':');
  if (colon >= 0) {
    tag = path.slice(colon + 1);
    path = path.slice(0, colon);
    if (!TAG_PATTERN.test(tag)) throw refError(ref, `"${tag}" is not a valid tag`, 'a tag is letters, digits, "_", "." and "-", up to 128 characters');
  }
  if (!REPOSITORY_PATTERN.test(path))
    throw refError(
      ref,
      `"${path}" is not a repository name`,
      'repository names are lowercase letters, digits and separators (. _ -), in components split by "/"',
    );
  if (scheme === 'http' && !isLoopback(host))
    throw refError(ref, 'plain HTTP is only allowed to this machine', 'use HTTPS (drop "http://"), or a registry on 127.0.0.1 or localhost');

  let apiHost = host;
  let repository = path;
  if (host === 'docker.io' || host === 'index.docker.io') {
    apiHost = 'registry-1.docker.io';
    if (!repository.includes('/')) repository = `library/${repository}`;
  }
  if (tag === undefined && digest === undefined) tag = 'latest';
  return {
    transport: 'registry',
    origin: `${scheme}://${apiHost}`,
    name: `${host}/${path}`,
    repository,
    ...(tag ? { tag } : {}),
    ...(digest ? { digest } : {}),
  };
}

/** True for localhost, 127.0.0.0/8 and [::1], with or without a port. */
export function isLoopback(hostPort: string): boolean {
  const host = hostPort.startsWith('[') ? hostPort.slice(0, hostPort.indexOf(']') + 1) : hostPort.split(':')[0];
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
