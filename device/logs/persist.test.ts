import { describe, expect, it } from 'vitest';
import { createLog } from '../base/log.ts';
import { fakeDataFs } from '../testing/fake-data-fs.ts';
import type { KmsgReader } from '../sys/kmsg-reader.ts';
import { persistLogs } from './persist.ts';

const DIR = '/data/log';
const MARKER = '-- kiln boot id-2: gw, build b1, kiln 0.1.0 --\n';

function kmsgReader(records: string[]): KmsgReader & { closed: boolean } {
  return {
    closed: false,
    read: () => records.shift(),
    close() {
      this.closed = true;
    },
  };
}

function setup(files: Record<string, string> = {}, maxBytes = 1 << 20) {
  const data = fakeDataFs(files);
  data.mkdirp(DIR);
  let console = '';
  let clock = 3;
  const log = createLog(
    (text) => (console += text),
    () => clock,
  );
  const kernel = ['0,0,0,-;Linux version 6.1.0-rt\n', '6,1,1500000,-;virtio_blk virtio1: [vda]\n SUBSYSTEM=virtio\n'];
  const reader = kmsgReader(kernel);
  const timers: { ms: number; fn: () => void; cancelled: boolean }[] = [];
  const deps = {
    data,
    log,
    openKmsg: () => reader,
    every: (ms: number, fn: () => void) => {
      const timer = { ms, fn, cancelled: false };
      timers.push(timer);
      return () => void (timer.cancelled = true);
    },
  };
  const start = () => persistLogs(deps, { dir: DIR, marker: MARKER, maxBytes, keep: 2 });
  return { data, log, kernel, reader, timers, start, console: () => console, tick: (at: number) => void (clock = at) };
}

describe('persisting the logs', () => {
  it('starts each file with the boot marker, appending to earlier boots, and replays the init log since boot', () => {
    const { data, log, start } = setup({ [`${DIR}/init.log`]: '-- kiln boot id-1: gw, build b1, kiln 0.1.0 --\n[    1.000000] info  kiln: old\n' });
    log.info('mounts: /proc (2 ms)');
    start();
    log.warn('late');
    expect(data.files.get(`${DIR}/init.log`)).toBe(
      '-- kiln boot id-1: gw, build b1, kiln 0.1.0 --\n[    1.000000] info  kiln: old\n' +
        MARKER +
        '[    3.000000] info  kiln: mounts: /proc (2 ms)\n[    3.000000] warn  kiln: late\n',
    );
    expect(data.files.get(`${DIR}/kernel.log`)).toBe(`${MARKER}[    0.000000] Linux version 6.1.0-rt\n[    1.500000] virtio_blk virtio1: [vda]\n`);
  });

  it('copies new kernel records on its timer and fsyncs on the other', () => {
    const { data, kernel, timers, start } = setup();
    start();
    expect(timers.map((t) => t.ms)).toEqual([1000, 10_000]);
    kernel.push('4,2,9000000,-;eth0: link up\n');
    timers[0]!.fn();
    expect(data.files.get(`${DIR}/kernel.log`)).toMatch(/\[    9\.000000\] eth0: link up\n$/);
    data.events.length = 0;
    timers[1]!.fn();
    expect(data.events).toEqual([`fsync ${DIR}/init.log`, `fsync ${DIR}/kernel.log`]);
  });

  it('notes in kernel.log where records were overwritten before they were read', () => {
    const { data, kernel, timers, start } = setup();
    start(); // records 0 and 1
    kernel.push('6,5,9000000,-;after the gap\n', '6,6,9100000,-;next\n');
    timers[0]!.fn();
    expect(data.files.get(`${DIR}/kernel.log`)).toMatch(
      /\] virtio_blk virtio1: \[vda\]\n-- kiln: 3 kernel log records were overwritten before they could be copied --\n\[    9\.000000\] after the gap\n\[    9\.100000\] next\n$/,
    );
  });

  it('at shutdown: copies what is new, fsyncs and closes, stops the timers and the file sink', () => {
    const { data, log, kernel, reader, timers, start } = setup();
    const persister = start();
    log.info('shutting down (power button)');
    kernel.push('6,3,20000000,-;reboot: Power down\n');
    data.events.length = 0;
    persister.close();
    expect(data.events).toEqual([`fsync ${DIR}/init.log`, `fsync ${DIR}/kernel.log`]);
    expect(data.files.get(`${DIR}/kernel.log`)).toMatch(/reboot: Power down\n$/);
    expect(timers.every((t) => t.cancelled)).toBe(true);
    expect(reader.closed).toBe(true);
    log.info('powering off');
    expect(data.files.get(`${DIR}/init.log`)).not.toContain('powering off');
  });

  it('a full disk: one line on the console, the console log goes on, nothing more is written', () => {
    const { data, log, timers, start, console } = setup();
    const persister = start();
    data.spaceLeft = 10;
    log.info('this line does not fit');
    log.info('the console still has this one');
    timers[0]!.fn();
    expect(persister.active()).toBe(false);
    expect(console()).toBe(
      'kiln: this line does not fit\n' +
        `kiln: logs: cannot write ${DIR}/init.log: ENOSPC: no space left on device, write '${DIR}/init.log'; not persisting logs until the next boot (the console log goes on)\n` +
        'kiln: the console still has this one\n',
    );
    expect(data.files.get(`${DIR}/init.log`)).toBe(MARKER);
    expect(timers.every((t) => t.cancelled)).toBe(true);
  });

  it('rotates both files at the cap', () => {
    const { data, log, kernel, start } = setup({}, 4096);
    for (let i = 0; i < 300; i++) kernel.push(`6,${i + 2},${2000000 + i},-;record ${i} ${'y'.repeat(40)}\n`);
    start();
    expect(data.files.get(`${DIR}/kernel.log.2`)).toBeDefined();
    expect(Buffer.byteLength(data.files.get(`${DIR}/kernel.log.1`)!)).toBeLessThanOrEqual(4096);
    expect(data.files.get(`${DIR}/kernel.log`)).toMatch(/record 299 y+\n$/);
    for (let i = 0; i < 100; i++) log.info(`line ${i} ${'x'.repeat(60)}`);
    expect(data.files.get(`${DIR}/init.log.1`)).toBeDefined();
    expect(Buffer.byteLength(data.files.get(`${DIR}/init.log`)!)).toBeLessThanOrEqual(4096);
    expect(data.files.get(`${DIR}/init.log`)).toMatch(/kiln: line 99 x+\n$/);
  });

  it('a folder that cannot be opened throws (the stage says why)', () => {
    const { data, start } = setup();
    data.fail('write', DIR, 'EROFS');
    expect(() => start()).toThrow(/EROFS/);
  });
});
