import { describe, expect, it } from 'vitest';
// The launcher keeps its own copy of the stub parser (it must not load TypeScript): both must read the same format.
import { parseStub as launcherParseStub } from '../../programs/run.js';
import { LAUNCHER_PATH, parseStub, programStub } from './stub.ts';

describe('program stubs', () => {
  const stub = programStub({ program: 'greet', entry: '/src/greet/main.ts' });

  it('is a shebang for the launcher, a comment and two fields (golden text)', () => {
    expect(stub).toBe(
      '#!/usr/bin/node /usr/lib/kiln/device/programs/run.js\n' +
        '# kiln program: `greet` runs /src/greet/main.ts, compiled on first use into /run/kiln/compile\n' +
        'program=greet\n' +
        'entry=/src/greet/main.ts\n',
    );
    expect(stub.startsWith(`#!/usr/bin/node ${LAUNCHER_PATH}\n`)).toBe(true);
  });

  it('reads back the same way in stub.ts and in the launcher', () => {
    expect(parseStub(stub)).toEqual({ program: 'greet', entry: '/src/greet/main.ts' });
    expect(launcherParseStub(stub, '/usr/bin/greet')).toEqual(parseStub(stub));
    const tool = programStub({ program: 'kiln-status', entry: '/usr/lib/kiln/device/commands/kiln-status.ts' });
    expect(launcherParseStub(tool, 'x')).toEqual(parseStub(tool));
  });

  it('rejects what would not survive as a command or a line', () => {
    expect(() => programStub({ program: 'Greet', entry: '/src/g/main.ts' })).toThrow(RangeError);
    expect(() => programStub({ program: 'a b', entry: '/src/g/main.ts' })).toThrow('not a command name: "a b"');
    expect(() => programStub({ program: 'g', entry: 'main.ts' })).toThrow('entry must be an absolute path');
    expect(() => programStub({ program: 'g', entry: '/src/g/x\nentry=/etc/passwd' })).toThrow(RangeError);
  });

  it('names the file when it is not a stub', () => {
    expect(() => parseStub('#!/bin/sh\necho hi\n', '/usr/bin/x')).toThrow('/usr/bin/x: not a kiln program stub (no program= or entry= line)');
    expect(() => launcherParseStub('#!/bin/sh\n', '/usr/bin/x')).toThrow('/usr/bin/x: not a kiln program stub');
    for (const half of ['program=greet\n', 'entry=/src/greet/main.ts\n']) {
      expect(() => parseStub(half, 'x')).toThrow(TypeError);
      expect(() => launcherParseStub(half, 'x')).toThrow(TypeError);
    }
  });
});

describe("the launcher's file URLs", () => {
  it('match url.pathToFileURL for the paths programs have', async () => {
    const { pathToFileURL } = await import('node:url');
    const { fileUrl } = await import('../../programs/run.js');
    for (const p of ['/src/greet/main.ts', '/src/my-app/src/entry point.ts', '/src/x/a#b%c?.ts', '/src/x/ünï.ts']) {
      expect(new URL(fileUrl(p)).pathname).toBe(pathToFileURL(p).pathname);
    }
  });
});
