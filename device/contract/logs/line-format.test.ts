import { describe, expect, it } from 'vitest';
import { bootMarker, formatInitEntry, formatKmsgRecord, kmsgSequence, splitBoots, stamp } from './line-format.ts';

const boot = (bootId: string) => bootMarker({ bootId, name: 'gw', buildId: 'b1', kilnVersion: '0.1.0' });

describe('log line format', () => {
  it('stamps like dmesg', () => {
    expect(stamp(8.1234564)).toBe('[    8.123456]');
    expect(stamp(0)).toBe('[    0.000000]');
    expect(stamp(123456.5)).toBe('[123456.500000]');
  });

  it('writes each line of an init message stamped, with its level', () => {
    expect(formatInitEntry({ level: 'warn', message: 'a\nb', uptime: 2 })).toBe('[    2.000000] warn  kiln: a\n[    2.000000] warn  kiln: b\n');
  });

  it('turns /dev/kmsg records into lines, dropping the key=value continuation', () => {
    expect(formatKmsgRecord('6,339,5140900,-;virtio_blk virtio1: [vda] 131072 512-byte logical blocks\n SUBSYSTEM=virtio\n DEVICE=+virtio:virtio1\n')).toBe(
      '[    5.140900] virtio_blk virtio1: [vda] 131072 512-byte logical blocks\n',
    );
    expect(formatKmsgRecord('14,700,8123456,-;kiln: ready\n')).toBe('[    8.123456] kiln: ready\n');
    expect(formatKmsgRecord('garbage')).toBeUndefined();
  });

  it('splits concatenated files into boots, a boot spanning a rotation staying one', () => {
    const text = `[    9.0] tail of a boot whose marker rotated away\n${boot('a')}[    1.0] one\n${boot('b')}[    1.0] two\n${boot('b')}[    2.0] two more\n`;
    expect(splitBoots(text)).toEqual([
      { lines: ['[    9.0] tail of a boot whose marker rotated away'] },
      { bootId: 'a', description: 'gw, build b1, kiln 0.1.0', lines: ['[    1.0] one'] },
      { bootId: 'b', description: 'gw, build b1, kiln 0.1.0', lines: ['[    1.0] two', '[    2.0] two more'] },
    ]);
  });
});

describe('kmsg sequence numbers', () => {
  it('reads the second field', () => {
    expect([kmsgSequence('6,339,5140900,-;x\n'), kmsgSequence('garbage')]).toEqual([339, undefined]);
  });
});
