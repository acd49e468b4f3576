import { describe, expect, it } from 'vitest';
import { runReload } from './kiln-reload.ts';
import { runStatus } from './kiln-status.ts';

function io(files: Record<string, string> = {}) {
  const out = { stdout: '', stderr: '', killed: [] as string[] };
  return {
    out,
    stdout: (t: string) => void (out.stdout += t),
    stderr: (t: string) => void (out.stderr += t),
    readText: (p: string) => {
      if (files[p] === undefined) throw Object.assign(new Error(`ENOENT ${p}`), { code: 'ENOENT' });
      return files[p]!;
    },
    kill: (pid: number, signal: string) => void out.killed.push(`${pid} ${signal}`),
  };
}

const status = JSON.stringify({
  name: 'p',
  hostname: 'h',
  kiln: '0.1.0',
  buildId: 'b',
  arch: 'x86_64',
  updatedUptimeMs: 1000,
  commands: ['greet'],
  services: [],
});

describe('kiln-status', () => {
  it('prints the init status file', () => {
    const t = io({ '/run/kiln/status.json': status, '/proc/uptime': '12.50 20.00\n' });
    expect(runStatus([], t)).toBe(0);
    expect(t.out.stdout).toBe('p (h): kiln 0.1.0, build b, x86_64, up 12.5 s\nservices: none\ncommands: greet\n');
  });

  it('prints it raw with --json, and explains a missing file', () => {
    const t = io({ '/run/kiln/status.json': status });
    expect(runStatus(['--json'], t)).toBe(0);
    expect(t.out.stdout).toBe(status);
    const missing = io();
    expect(runStatus([], missing)).toBe(1);
    expect(missing.out.stderr).toBe('kiln-status: cannot read /run/kiln/status.json (ENOENT): the init writes it when it starts the programs stage\n');
    expect(runStatus(['--yaml'], io())).toBe(2);
  });
});

describe('kiln-reload', () => {
  it('sends SIGHUP to PID 1', () => {
    const t = io();
    expect(runReload([], t)).toBe(0);
    expect(t.out.killed).toEqual(['1 SIGHUP']);
    expect(t.out.stdout).toBe('kiln-reload: asked the init (PID 1) to reload its configuration (SIGHUP)\n');
  });

  it('says why it could not', () => {
    const t = {
      ...io(),
      kill: () => {
        throw Object.assign(new Error('EPERM'), { code: 'EPERM' });
      },
    };
    expect(runReload([], t)).toBe(1);
    expect(t.out.stderr).toBe('kiln-reload: cannot signal the init (EPERM): run it as root\n');
    expect(runReload(['now'], io())).toBe(2);
  });
});
