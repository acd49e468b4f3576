import { describe, expect, it } from 'vitest';
import { fakeFs, fakeLibc, statLine, syscallError } from '../testing/fakes.ts';
import { parseProcStat } from './procfs.ts';
import { orphanZombies, reapOnce } from './reaper.ts';

const table = [
  statLine(1, 'node', 'S', 0),
  statLine(20, 'orphan', 'Z', 1), // re-parented to the init: reap
  statLine(21, 'spawned', 'Z', 1), // Node's own child: libuv waits for it
  statLine(22, 'grandchild', 'Z', 30), // someone else's child: theirs to reap
  statLine(23, 'alive', 'S', 1),
  statLine(24, 'kworker', 'I', 2, 0x4208060),
];

describe('orphanZombies', () => {
  it('picks zombies of the init that Node did not spawn', () => {
    const processes = table.map((line) => parseProcStat(line)!);
    expect(orphanZombies(processes, 1, (pid) => pid === 21)).toEqual([20]);
  });
  it('uses the given pid as parent (the init need not be pid 1 in tests)', () => {
    const processes = table.map((line) => parseProcStat(line)!);
    expect(orphanZombies(processes, 30, () => false)).toEqual([22]);
  });
});

describe('reapOnce', () => {
  const fs = fakeFs(Object.fromEntries(table.map((line) => [`/proc/${line.split(' ')[0]}/stat`, line])));

  it('waits for each picked zombie by pid, never waitpid(-1)', () => {
    const libc = fakeLibc();
    expect(reapOnce({ libc, fs, selfPid: 1, ownChild: (pid) => pid === 21 })).toEqual([20]);
    expect(libc.calls).toEqual(['waitpid 20 1']);
  });
  it('ignores ECHILD (reaped by someone else meanwhile)', () => {
    const libc = fakeLibc({ 'waitpid 20 1': 'ECHILD' });
    expect(reapOnce({ libc, fs, selfPid: 1, ownChild: () => true })).toEqual([]);
    expect(reapOnce({ libc, fs, selfPid: 1, ownChild: (pid) => pid !== 20 })).toEqual([]);
  });
  it('lets other errors through', () => {
    const libc = fakeLibc({ 'waitpid 20 1': 'EINVAL' });
    expect(() => reapOnce({ libc, fs, selfPid: 1, ownChild: (pid) => pid === 21 })).toThrow(syscallError('waitpid(20)', 'EINVAL').message);
  });
});
