import { describe, expect, it } from 'vitest';
import { fakeFs, statLine } from '../testing/fakes.ts';
import { isKernelThread, listProcesses, liveUserProcesses, parseProcStat } from './procfs.ts';

describe('parseProcStat', () => {
  it('reads pid, comm, state, ppid and flags', () => {
    expect(parseProcStat(statLine(42, 'crun', 'S', 1))).toEqual({ pid: 42, comm: 'crun', state: 'S', ppid: 1, flags: 0x400100 });
  });
  it('finds the fields after a comm holding spaces and parentheses', () => {
    expect(parseProcStat(statLine(7, 'a) Z 9 (b', 'R', 3))).toMatchObject({ pid: 7, comm: 'a) Z 9 (b', state: 'R', ppid: 3 });
  });
  it('returns undefined for text that is not a stat line', () => {
    expect(parseProcStat('')).toBeUndefined();
    expect(parseProcStat('12 (x')).toBeUndefined();
  });
  it('recognises kernel threads by PF_KTHREAD', () => {
    expect(isKernelThread(parseProcStat(statLine(2, 'kthreadd', 'S', 0, 0x208040))!)).toBe(true);
    expect(isKernelThread(parseProcStat(statLine(50, 'node', 'S', 1))!)).toBe(false);
  });
});

describe('listProcesses', () => {
  it('reads every numeric /proc entry and skips vanished ones', () => {
    const fs = fakeFs({
      '/proc/1/stat': statLine(1, 'node', 'S', 0),
      '/proc/33/stat': statLine(33, 'app', 'Z', 1),
      '/proc/34/status': 'stat vanished while listing',
      '/proc/uptime': '1.00 1.00\n',
    });
    expect(listProcesses(fs).map((process) => process.pid)).toEqual([1, 33]);
  });
});

describe('liveUserProcesses', () => {
  it('leaves out the init, kernel threads and zombies', () => {
    const processes = [
      statLine(1, 'node', 'S', 0),
      statLine(2, 'kthreadd', 'S', 0, 0x208040),
      statLine(9, 'kworker/0:1', 'I', 2, 0x4208060),
      statLine(40, 'app', 'S', 1),
      statLine(41, 'gone', 'Z', 1),
    ].map((line) => parseProcStat(line)!);
    expect(liveUserProcesses(processes, 1).map((process) => process.pid)).toEqual([40]);
  });
});
