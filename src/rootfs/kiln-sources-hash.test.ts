/**
 * The build id's share of the kiln layer (layers.ts kilnSourcesHash): what the image carries from the host changes
 * the hash — kiln's device code, the first stage's C source, the config's files — and what stays on the host (tests,
 * their fakes) does not.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kilnSourcesHash } from './layers.js';

const work = mkdtempSync(path.join(tmpdir(), 'kiln-sources-hash-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const deviceDir = path.join(work, 'device');
const userFile = path.join(work, 'app.conf');
const files = [{ source: userFile, target: '/etc/app.conf', where: 'files[0]' }];

function put(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
}

describe('kilnSourcesHash', () => {
  it('changes with the device code, the first stage and the config files; not with tests', async () => {
    put(path.join(deviceDir, 'init/main.ts'), 'export {};\n');
    put(path.join(deviceDir, 'init/main.test.ts'), 'test\n');
    put(path.join(deviceDir, 'testing/fake.ts'), 'fake\n');
    put(path.join(deviceDir, 'first-stage/first-stage.c'), 'int main(void) { return 0; }\n');
    put(userFile, 'a=1\n');
    const hash = () => kilnSourcesHash({ deviceDir, files });
    const before = await hash();
    expect(await hash()).toBe(before);
    for (const [file, text] of [
      [path.join(deviceDir, 'init/main.test.ts'), 'another test\n'],
      [path.join(deviceDir, 'testing/fake.ts'), 'another fake\n'],
    ] as const) {
      put(file, text);
      expect(await hash(), file).toBe(before);
    }
    const seen = new Set([before]);
    for (const [file, text] of [
      [path.join(deviceDir, 'init/main.ts'), 'export const x = 1;\n'],
      [path.join(deviceDir, 'first-stage/first-stage.c'), 'int main(void) { return 1; }\n'],
      [userFile, 'a=2\n'],
    ] as const) {
      put(file, text);
      const now = await hash();
      expect(seen.has(now), file).toBe(false);
      seen.add(now);
    }
  });
});
