/**
 * The device tree's floors, checked on every import: a module imports only its own floor or the ones below it, and
 * the host (src/) imports device code only from the shared contract. See device/README.md ("Floors").
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const DEVICE = import.meta.dirname;
const REPO = path.dirname(DEVICE);

/** Top folder of device/ → its floor. Stages (floor 3) may use each other; nothing imports the init (floor 4). */
export const FLOORS: Readonly<Record<string, number>> = {
  contract: 0, // what host and device share: config schemas, the boot contract, OCI and log formats
  formats: 0, // pure codecs (tar, netlink, IP prefixes, mount flags)
  sys: 1, // the door to the kernel: koffi bindings and the filesystem behind interfaces
  base: 2, // ground floor of the init: log, stage context, uptime, mount table, reaper
  storage: 3,
  net: 3,
  time: 3,
  config: 3,
  logs: 3,
  programs: 3,
  containers: 3,
  api: 3,
  update: 3, // firmware updates (device/update/README.md)
  watchdog: 3, // arms and pets the hardware watchdog
  init: 4, // PID 1: wires the stages in order
  commands: 4, // kiln's commands on the device (kiln-status, kiln-reload)
};

function sources(dir: string, keep: (file: string) => boolean): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|js)$/.test(e.name) && !e.parentPath.includes('node_modules'))
    .map((e) => path.join(e.parentPath, e.name))
    .filter(keep);
}

function relativeImports(file: string, text = readFileSync(file, 'utf8')): string[] {
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)/g)].map((m) =>
    path.resolve(path.dirname(file), m[1] ?? m[2]!),
  );
}

const topFolder = (file: string) => path.relative(DEVICE, file).split(path.sep)[0]!;
const isTest = (file: string) => /\.test\.ts$/.test(file) || topFolder(file) === 'testing';

/** Every import that goes to a higher floor, or to a folder the table does not know, as "from -> to". */
export function upwardImports(files: readonly { file: string; text?: string }[]): string[] {
  const found: string[] = [];
  for (const { file, text } of files) {
    const from = FLOORS[topFolder(file)];
    for (const target of relativeImports(file, text)) {
      if (!target.startsWith(DEVICE + path.sep)) continue;
      const to = FLOORS[topFolder(target)];
      if (from === undefined || to === undefined || to > from) found.push(`${path.relative(DEVICE, file)} -> ${path.relative(DEVICE, target)}`);
    }
  }
  return found;
}

describe('device floors', () => {
  const deviceFiles = sources(DEVICE, (f) => !isTest(f) && topFolder(f) !== 'first-stage' && path.dirname(f) !== DEVICE);

  it('every device folder has a floor', () => {
    expect([...new Set(deviceFiles.map(topFolder))].filter((t) => FLOORS[t] === undefined)).toEqual([]);
  });

  it('no device module imports a higher floor', () => {
    expect(upwardImports(deviceFiles.map((file) => ({ file })))).toEqual([]);
  });

  it('reports an import that goes up, and only that', () => {
    const at = (folder: string, text: string) => ({ file: path.join(DEVICE, folder, 'x.ts'), text });
    expect(
      upwardImports([
        at('base', "import { startInit } from '../init/start.ts';"),
        at('contract', "import type { Libc } from '../sys/libc.ts';"),
        at('storage', "import { x } from '../net/stage.ts';\nimport { y } from '../base/log.ts';"), // lateral, down: fine
        at('init', "const m = await import('../containers/stage.ts');"),
      ]),
    ).toEqual(['base/x.ts -> init/start.ts', 'contract/x.ts -> sys/libc.ts']);
  });

  it('the host imports device code only from device/contract', () => {
    const host = sources(path.join(REPO, 'src'), (f) => !/\.test\.ts$/.test(f) && !f.includes(`${path.sep}_testing`));
    const outside = host.flatMap((file) =>
      relativeImports(file)
        .filter((t) => t.startsWith(DEVICE + path.sep) && topFolder(t) !== 'contract')
        .map((t) => `${path.relative(REPO, file)} -> ${path.relative(REPO, t)}`),
    );
    expect(outside).toEqual([]);
  });
});
