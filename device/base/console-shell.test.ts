import type { ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { startConsoleShell } from './console-shell.ts';
import { createLog } from './log.ts';

describe('startConsoleShell', () => {
  it('starts a Node REPL on the console, registered with the reaper, and says when it ends', () => {
    let console = '';
    const started: { program: string; args: readonly string[]; env: Record<string, string> }[] = [];
    const tracked: ChildProcess[] = [];
    let exit: ((code: number | null, signal: string | null) => void) | undefined;
    const child = { pid: 42 } as ChildProcess;
    startConsoleShell(
      {
        log: createLog((text) => (console += text)),
        node: '/usr/bin/node',
        startOnConsole: (program, args, env, onStart, onExit) => {
          started.push({ program, args, env });
          onStart(child);
          exit = onExit;
        },
        trackChild: (c) => void tracked.push(c),
      },
      'the boot is degraded',
    );
    expect(started).toEqual([
      { program: '/usr/bin/node', args: ['--interactive'], env: { HOME: '/', TERM: 'linux', NODE_REPL_HISTORY: '', PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } },
    ]);
    expect(tracked).toEqual([child]);
    exit!(0, null);
    expect(console).toBe(
      'kiln: console shell: a Node.js REPL on this console because the boot is degraded (debug: true); .exit leaves it\n' +
        'kiln: console shell ended (exit 0)\n',
    );
  });
});
