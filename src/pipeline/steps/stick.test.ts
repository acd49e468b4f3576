/** The stick's folder steps (layout: source) against a real temporary output folder. */
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { publishSharedSource, SHARED_STAGING, startSharedSource, writeStick } from './stick.js';

let out: string;
beforeEach(async () => {
  out = await mkdtemp(path.join(os.tmpdir(), 'kiln-stick-test-'));
});
afterEach(async () => {
  await rm(out, { recursive: true, force: true });
});

const file = (p: string, text = p) => ({ path: p, data: Buffer.from(text) });

describe('the stick in the output folder', () => {
  it("replaces its own linux_<arch>/ whole and publishes the union of every architecture's src/", async () => {
    await mkdir(path.join(out, 'linux_amd64'), { recursive: true });
    await writeFile(path.join(out, 'linux_amd64', 'stale'), 'old');
    await startSharedSource(out);
    const amd = await writeStick(
      out,
      [file('linux_amd64/bin/node'), file('src/kiln/main.ts'), file('src/kiln/node_modules/koffi-x64/a.node')],
      'linux_amd64',
      'ESP',
    );
    await writeStick(out, [file('linux_arm64/bin/node'), file('src/kiln/main.ts'), file('src/kiln/node_modules/koffi-arm64/a.node')], 'linux_arm64', 'ESP');
    expect(amd).toEqual({ dir: out, files: ['linux_amd64/bin/node', 'src/kiln/main.ts', 'src/kiln/node_modules/koffi-x64/a.node'], bytes: 74, label: 'ESP' });
    expect(await readdir(path.join(out, 'linux_amd64'))).toEqual(['bin']); // the stale file is gone
    expect(await readdir(out)).not.toContain('src'); // staged until every architecture is built
    await publishSharedSource(out);
    expect((await readdir(path.join(out, 'src', 'kiln', 'node_modules'))).sort()).toEqual(['koffi-arm64', 'koffi-x64']);
    expect(await readdir(out)).not.toContain(SHARED_STAGING);
    expect(await readFile(path.join(out, 'src', 'kiln', 'main.ts'), 'utf8')).toBe('src/kiln/main.ts');
  });

  it('never replaces a src/ kiln did not write, and leaves it as it was', async () => {
    await mkdir(path.join(out, 'src'));
    await writeFile(path.join(out, 'src', 'mine.c'), 'int main;');
    await expect(startSharedSource(out)).rejects.toThrow(`${path.join(out, 'src')} exists and is not a stick tree kiln wrote (no src/kiln)`);
    expect(await readdir(path.join(out, 'src'))).toEqual(['mine.c']);
  });
});
