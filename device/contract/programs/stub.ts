/**
 * Program commands without symlinks: each command in PATH (`/usr/bin/<name>`) is a small text file whose shebang
 * hands it to kiln's launcher, Sourcery's trick for a root that may be VFAT:
 *
 *   #!/usr/bin/node /usr/lib/kiln/device/programs/run.js
 *   # kiln program: `greet` runs /src/greet/main.ts, compiled on first use into /run/kiln/compile
 *   program=greet
 *   entry=/src/greet/main.ts
 *
 * The kernel runs `/usr/bin/node /usr/lib/kiln/device/programs/run.js /usr/bin/greet <args>`; the launcher reads
 * this file for the program's name and entry. Written by the build (host), read by `run.js` (device), which keeps
 * its own copy of `parseStub` to stay a plain JavaScript file (see there); stub.test.ts holds the two to one format.
 */

/** The launcher every stub names. Plain JavaScript: it must start without loading the TypeScript stripper. */
export const LAUNCHER_PATH = '/usr/lib/kiln/device/programs/run.js';
export const NODE_PATH = '/usr/bin/node';

export interface StubTarget {
  /** Command name, also the file name of the stub. */
  program: string;
  /** Absolute path of the program's entry file on the device. */
  entry: string;
}

/** Command names: what a shell and a VFAT file name both take without quoting (lower case: VFAT ignores case). */
export const COMMAND_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export function programStub(target: StubTarget): string {
  if (!COMMAND_NAME.test(target.program)) throw new RangeError(`not a command name: "${target.program}"`);
  if (!target.entry.startsWith('/') || /[\n\r]/.test(target.entry)) throw new RangeError(`entry must be an absolute path on one line: "${target.entry}"`);
  return [
    `#!${NODE_PATH} ${LAUNCHER_PATH}`,
    `# kiln program: \`${target.program}\` runs ${target.entry}, compiled on first use into /run/kiln/compile`,
    `program=${target.program}`,
    `entry=${target.entry}`,
    '',
  ].join('\n');
}

/** The stub's fields; comment lines and the shebang are skipped. Throws TypeError when a field is missing. */
export function parseStub(text: string, where = 'stub'): StubTarget {
  const fields: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (line.startsWith('#') || eq < 1) continue;
    fields[line.slice(0, eq)] = line.slice(eq + 1);
  }
  if (fields.program === undefined || fields.entry === undefined) throw new TypeError(`${where}: not a kiln program stub (no program= or entry= line)`);
  return { program: fields.program, entry: fields.entry };
}
