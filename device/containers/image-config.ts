/**
 * The parts of an OCI image config (image-spec config.md) a device needs to run the image: the command, the
 * environment, the folder and the user, plus the uncompressed layer digests to check the layers against.
 */
import { z } from 'zod';

export interface ImageConfig {
  entrypoint: readonly string[];
  cmd: readonly string[];
  /** KEY=value, in the image's order. */
  env: readonly string[];
  /** "" when the image sets none. */
  workingDir: string;
  /** "", "uid", "uid:gid", "name" or "name:group", as the image has it. */
  user: string;
  architecture: string;
  os: string;
  /** `rootfs.diff_ids`: the sha256 of each layer's uncompressed tar, in layer order. */
  diffIds: readonly string[];
}

const stringList = z.array(z.string()).nullish();

const configSchema = z.object({
  architecture: z.string(),
  os: z.string(),
  config: z
    .object({
      Entrypoint: stringList,
      Cmd: stringList,
      Env: stringList,
      WorkingDir: z.string().nullish(),
      User: z.string().nullish(),
    })
    .nullish(),
  rootfs: z.object({ type: z.literal('layers'), diff_ids: z.array(z.string()) }),
});

/** The config blob is not an image config; names the key path. */
export class ImageConfigError extends Error {
  constructor(message: string) {
    super(`Invalid image config: ${message}`);
    this.name = 'ImageConfigError';
  }
}

/**
 * Parses an image config blob (JSON bytes).
 * @example parseImageConfig(bytes).entrypoint // ["/bin/sh", "-c"]
 */
export function parseImageConfig(bytes: Uint8Array): ImageConfig {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8'));
  } catch (error) {
    throw new ImageConfigError(`not JSON: ${(error as Error).message}`);
  }
  const parsed = configSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ImageConfigError(`${issue.path.join('.') || '(top)'}: ${issue.message}`);
  }
  const { config, rootfs } = parsed.data;
  return {
    entrypoint: config?.Entrypoint ?? [],
    cmd: config?.Cmd ?? [],
    env: config?.Env ?? [],
    workingDir: config?.WorkingDir ?? '',
    user: config?.User ?? '',
    architecture: parsed.data.architecture,
    os: parsed.data.os,
    diffIds: rootfs.diff_ids,
  };
}
