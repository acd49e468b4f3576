import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { fakeFs } from '../testing/fakes.ts';
import { encodeInputEvent, EV_KEY, KEY_POWER } from './input-event.ts';
import { findPowerButtons, watchPowerButtons } from './power-button.ts';

describe('findPowerButtons', () => {
  it('finds every event device named "Power Button", in number order', () => {
    const fs = fakeFs({
      '/sys/class/input/event10/device/name': 'Power Button\n',
      '/sys/class/input/event2/device/name': 'Power Button\n',
      '/sys/class/input/event0/device/name': 'AT Translated Set 2 keyboard\n',
      '/sys/class/input/input2/name': 'Power Button\n',
      '/sys/class/input/mice/x': '',
    });
    expect(findPowerButtons(fs)).toEqual(['/dev/input/event2', '/dev/input/event10']);
  });
  it('finds none without an input subsystem', () => {
    expect(findPowerButtons(fakeFs())).toEqual([]);
  });
});

const event = (type: number, code: number, value: number) => Buffer.from(encodeInputEvent({ seconds: 1, microseconds: 0, type, code, value }));

describe('watchPowerButtons', () => {
  it('reports a press, not the release or other keys', async () => {
    const presses: string[] = [];
    const stream = Readable.from([Buffer.concat([event(EV_KEY, 28, 1), event(EV_KEY, KEY_POWER, 1), event(0, 0, 0)]), event(EV_KEY, KEY_POWER, 0)]);
    watchPowerButtons(
      ['/dev/input/event2'],
      (path) => presses.push(path),
      () => {},
      () => stream,
    );
    await new Promise((resolve) => stream.on('end', resolve));
    expect(presses).toEqual(['/dev/input/event2']);
  });
  it('reports a read error for that device', async () => {
    const errors: string[] = [];
    const stream = new Readable({
      read() {
        this.destroy(new Error('EIO'));
      },
    });
    watchPowerButtons(
      ['/dev/input/event3'],
      () => {},
      (path, error) => errors.push(`${path}: ${String(error)}`),
      () => stream,
    );
    await new Promise((resolve) => stream.on('close', resolve));
    expect(errors).toEqual(['/dev/input/event3: Error: EIO']);
  });
});
