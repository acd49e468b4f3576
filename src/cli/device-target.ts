/**
 * What every command that talks to a device shares: `--device HOST:PORT`, `--token-file PATH` (or KILN_TOKEN;
 * never a --token flag, which `ps` would show to every user) and `--timeout`. The token is checked before any
 * request, so a missing one is never a network error.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { DEFAULT_TIMEOUT_MS, DeviceClient, parseDeviceAddress, resolveToken } from '../device-api/client.js';
import { KilnError } from '../util/errors.js';
import type { CliIo } from './io.js';

export interface DeviceOptions {
  device?: string;
  tokenFile?: string;
  timeout?: number;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number of seconds above 0');
  return n;
}

/** Adds the options; `required: false` for `kiln logs`, where --device switches it from a disk image to a device. */
export function withDeviceOptions(command: Command, options: { required?: boolean; defaultTimeoutMs?: number } = {}): Command {
  const device = new Option('--device <host:port>', "the device's management API: HOST:PORT or [IPV6]:PORT, the port being the config's apiPort");
  if (options.required !== false) device.makeOptionMandatory();
  return command
    .addOption(device)
    .option('--token-file <path>', "file holding the API token (the secondary config's api.token); default: $KILN_TOKEN")
    .option(
      '--timeout <seconds>',
      `give up when the device is silent this long (default: ${(options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS) / 1000})`,
      seconds,
    );
}

export const DEVICE_HELP = `The device serves its management API on TCP port apiPort (kiln config) once its secondary config provisions
api.token; kiln sends that token as "Authorization: Bearer", from --token-file or $KILN_TOKEN. Plain HTTP, no TLS:
use it on a trusted network or through a tunnel.`;

/** A client for `--device`, with the token resolved first. */
export async function deviceClient(options: DeviceOptions, io: CliIo): Promise<DeviceClient> {
  if (options.device === undefined) throw new KilnError('DEVICE_BAD_ADDRESS', '--device HOST:PORT is required');
  const address = parseDeviceAddress(options.device);
  let token: string | undefined;
  let source = 'KILN_TOKEN is not set and no --token-file was given';
  if (options.tokenFile !== undefined) {
    const file = path.resolve(io.cwd, options.tokenFile);
    token = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new KilnError('DEVICE_NO_TOKEN', `--token-file ${options.tokenFile}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
    });
    source = `--token-file ${options.tokenFile} is empty`;
  } else {
    token = io.env.KILN_TOKEN;
    if (token !== undefined) source = 'KILN_TOKEN is empty';
  }
  return new DeviceClient(address, resolveToken(token, source), { timeoutMs: options.timeout === undefined ? undefined : options.timeout * 1000 });
}
