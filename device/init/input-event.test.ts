import { describe, expect, it } from 'vitest';
import { createEventSplitter, decodeInputEvent, encodeInputEvent, EV_KEY, INPUT_EVENT_SIZE, isPowerKeyPress, KEY_POWER } from './input-event.ts';

// struct input_event for "KEY_POWER pressed" at 1700000000.250000, as evdev writes it on x86_64.
const POWER_PRESS = Uint8Array.from([
  0x00,
  0xf1,
  0x53,
  0x65,
  0x00,
  0x00,
  0x00,
  0x00, // tv_sec
  0x90,
  0xd0,
  0x03,
  0x00,
  0x00,
  0x00,
  0x00,
  0x00, // tv_usec
  0x01,
  0x00, // type EV_KEY
  0x74,
  0x00, // code KEY_POWER (116)
  0x01,
  0x00,
  0x00,
  0x00, // value 1 (press)
]);
const SYN = { seconds: 1700000000, microseconds: 250000, type: 0, code: 0, value: 0 };

describe('input_event codec', () => {
  it('decodes golden bytes', () => {
    expect(decodeInputEvent(POWER_PRESS, 0)).toEqual({
      seconds: 1700000000,
      microseconds: 250000,
      type: EV_KEY,
      code: KEY_POWER,
      value: 1,
    });
  });
  it('encodes to the same bytes', () => {
    expect(encodeInputEvent(decodeInputEvent(POWER_PRESS, 0))).toEqual(POWER_PRESS);
  });
  it('round-trips a negative value', () => {
    const event = { seconds: 1, microseconds: 2, type: 3, code: 0xffff, value: -5 };
    expect(decodeInputEvent(encodeInputEvent(event), 0)).toEqual(event);
  });
  it('refuses a truncated record', () => {
    expect(() => decodeInputEvent(POWER_PRESS.subarray(0, 23), 0)).toThrow('Cannot decode input_event at 0x0: needs 24 bytes, 23 left');
  });
  it('tells a power press from release, repeat and other keys', () => {
    const press = decodeInputEvent(POWER_PRESS, 0);
    expect(isPowerKeyPress(press)).toBe(true);
    expect(isPowerKeyPress({ ...press, value: 0 })).toBe(false);
    expect(isPowerKeyPress({ ...press, value: 2 })).toBe(false);
    expect(isPowerKeyPress({ ...press, code: 115 })).toBe(false);
    expect(isPowerKeyPress({ ...press, type: 0 })).toBe(false);
  });
});

describe('createEventSplitter', () => {
  it('keeps a partial event until the rest arrives', () => {
    const split = createEventSplitter();
    const stream = new Uint8Array(INPUT_EVENT_SIZE * 2);
    stream.set(POWER_PRESS, 0);
    stream.set(encodeInputEvent(SYN), INPUT_EVENT_SIZE);
    expect(split(stream.subarray(0, 30))).toHaveLength(1);
    expect(split(stream.subarray(30, 40))).toEqual([]);
    expect(split(stream.subarray(40))).toEqual([SYN]);
  });
});
