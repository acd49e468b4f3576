/**
 * npm packages through `npm pack`: the user's npm configuration decides the registry (no address here).
 * Only the tarball is fetched; nothing is installed or run.
 */
import path from 'node:path';
import { KilnError } from '../util/errors.js';
import { exec } from '../util/exec.js';

export interface PackedTarball {
  name: string;
  version: string;
  file: string;
}

export async function npmPack(spec: string, destDir: string): Promise<PackedTarball> {
  const r = await exec('npm', ['pack', spec, '--json', '--pack-destination', destDir, '--ignore-scripts', '--loglevel=error'], { cwd: destDir });
  if (r.code !== 0) {
    const code = /npm error code (\S+)/.exec(r.stderr)?.[1] ?? /"code":\s*"(\w+)"/.exec(r.stdout)?.[1] ?? '';
    const unknown = code === 'E404' || code === 'ETARGET';
    throw new KilnError(
      unknown ? 'INPUT_UNKNOWN' : 'NETWORK',
      `npm package ${spec}: ${unknown ? 'no such package or version' : `npm pack failed (${code || `exit code ${r.code}`})`}`,
      {
        hint: unknown
          ? 'Check the name and version, or run `kiln lock --update` if the pinned version was withdrawn.'
          : 'Check the network and the npm registry setting; with a warm cache and kiln.lock, builds need no network.',
      },
    );
  }
  const [info] = JSON.parse(r.stdout) as { name: string; version: string; filename: string }[];
  if (!info) throw new KilnError('INPUT_UNKNOWN', `npm package ${spec}: npm pack returned nothing`);
  // npm names scoped tarballs "scope-name-version.tgz"
  return { name: info.name, version: info.version, file: path.join(destDir, info.filename.replace(/^@/, '').replace('/', '-')) };
}
