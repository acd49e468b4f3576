/**
 * `struct input_event` as read from /dev/input/event* on a 64-bit kernel (x86_64, aarch64; both little-endian).
 * 32-bit kernels use a 16-byte layout, which kiln does not target.
 */
import { DecodeError } from '../contract/decode-error.ts';
export const INPUT_EVENT_SIZE = 24;

/** linux/input-event-codes.h */
export const EV_KEY = 1;
export const KEY_POWER = 116;
/** A key event's value: 0 release, 1 press, 2 autorepeat. */
export const KEY_PRESSED = 1;

export interface InputEvent {
  seconds: number;
  microseconds: number;
  type: number;
  code: number;
  value: number;
}

export function decodeInputEvent(bytes: Uint8Array, offset: number): InputEvent {
  if (offset < 0 || offset + INPUT_EVENT_SIZE > bytes.length) {
    throw new DecodeError('input_event', '', offset, `needs ${INPUT_EVENT_SIZE} bytes, ${bytes.length - offset} left`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, INPUT_EVENT_SIZE);
  return {
    seconds: Number(view.getBigInt64(0, true)), // tv_sec (8) @0
    microseconds: Number(view.getBigInt64(8, true)), // tv_usec (8) @8
    type: view.getUint16(16, true), // type (2) @16
    code: view.getUint16(18, true), // code (2) @18
    value: view.getInt32(20, true), // value (4) @20
  };
}

export function encodeInputEvent(event: InputEvent): Uint8Array {
  const bytes = new Uint8Array(INPUT_EVENT_SIZE);
  const view = new DataView(bytes.buffer);
  view.setBigInt64(0, BigInt(event.seconds), true);
  view.setBigInt64(8, BigInt(event.microseconds), true);
  view.setUint16(16, event.type, true);
  view.setUint16(18, event.code, true);
  view.setInt32(20, event.value, true);
  return bytes;
}

export function isPowerKeyPress(event: InputEvent): boolean {
  return event.type === EV_KEY && event.code === KEY_POWER && event.value === KEY_PRESSED;
}

/**
 * Turns a byte stream into whole events. evdev returns whole events per read, but a stream may still split them
 * (buffer sizes are not ours to choose everywhere), so a partial tail is kept for the next chunk.
 */
export function createEventSplitter(): (chunk: Uint8Array) => InputEvent[] {
  let pending = new Uint8Array(0);
  return (chunk) => {
    const bytes = pending.length === 0 ? chunk : concat(pending, chunk);
    const events: InputEvent[] = [];
    let offset = 0;
    for (; offset + INPUT_EVENT_SIZE <= bytes.length; offset += INPUT_EVENT_SIZE) events.push(decodeInputEvent(bytes, offset));
    pending = bytes.slice(offset);
    return events;
  };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
