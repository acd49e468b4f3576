import { describe, expect, test } from 'vitest';
import { classifyQemuExit, type QemuExit } from './outcome.js';

const clean: QemuExit = { console: undefined, shutdownReason: undefined, guestPanicked: false, code: 0, signal: null };

describe('classifyQemuExit', () => {
  test('QMP says guest-shutdown → poweroff', () => expect(classifyQemuExit({ ...clean, shutdownReason: 'guest-shutdown' })).toBe('poweroff'));
  test('QMP says guest-reset (with -no-reboot) → reset', () => expect(classifyQemuExit({ ...clean, shutdownReason: 'guest-reset' })).toBe('reset'));
  test('a console panic outweighs the reset that follows it', () =>
    expect(classifyQemuExit({ ...clean, console: 'panic', shutdownReason: 'guest-reset' })).toBe('panic'));
  test('pvpanic → panic', () => expect(classifyQemuExit({ ...clean, guestPanicked: true })).toBe('panic'));
  test('QMP outweighs the console for power-off vs reset', () =>
    expect(classifyQemuExit({ ...clean, console: 'reset', shutdownReason: 'guest-shutdown' })).toBe('poweroff'));
  test('without QMP, the console decides', () => expect(classifyQemuExit({ ...clean, console: 'reset' })).toBe('reset'));
  test('a host-side cause is a QEMU failure', () => expect(classifyQemuExit({ ...clean, shutdownReason: 'host-signal', code: 0 })).toBe('qemu-failed'));
  test('a clean exit with no witness counts as power-off', () => expect(classifyQemuExit(clean)).toBe('poweroff'));
  test('a non-zero exit with no witness is a QEMU failure', () => expect(classifyQemuExit({ ...clean, code: 1 })).toBe('qemu-failed'));
  test('killed by a signal is a QEMU failure', () => expect(classifyQemuExit({ ...clean, code: null, signal: 'SIGABRT' })).toBe('qemu-failed'));
});
