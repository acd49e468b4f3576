/**
 * The ACPI power button (QEMU's `system_powerdown`, a real box's button) as input events.
 *
 * The ACPI `button` driver turns the button into an input device named "Power Button" and `evdev` gives it a
 * /dev/input/eventN node (devtmpfs creates it). There may be two (the fixed-feature button and a PNP0C0C device):
 * every match is watched.
 */
import * as nodeFs from 'node:fs';
import type { Readable } from 'node:stream';
import type { HostFs } from '../sys/host-fs.ts';
import { createEventSplitter, INPUT_EVENT_SIZE, isPowerKeyPress } from './input-event.ts';

export const POWER_BUTTON_NAME = 'Power Button';

/** /dev/input/eventN paths of the input devices named "Power Button". */
export function findPowerButtons(fs: HostFs): string[] {
  let entries: string[];
  try {
    entries = fs.list('/sys/class/input');
  } catch {
    return []; // no input subsystem at all
  }
  const found: string[] = [];
  for (const entry of entries.filter((name) => /^event\d+$/.test(name)).sort(byNumber)) {
    let name: string;
    try {
      name = fs.readText(`/sys/class/input/${entry}/device/name`).trim();
    } catch {
      continue;
    }
    if (name === POWER_BUTTON_NAME) found.push(`/dev/input/${entry}`);
  }
  return found;
}

function byNumber(a: string, b: string): number {
  return Number(a.replace(/\D/g, '')) - Number(b.replace(/\D/g, ''));
}

/** Opens an event device as a stream; a whole number of events per read keeps chunks aligned. */
export function openEventStream(path: string): Readable {
  return nodeFs.createReadStream(path, { highWaterMark: INPUT_EVENT_SIZE * 32 });
}

/**
 * Call `onPress` for every power key press on `paths`. A device that fails to read is reported through `onError`
 * and dropped; the others keep working. Reads run on libuv's thread pool, so the event loop never blocks.
 */
export function watchPowerButtons(
  paths: readonly string[],
  onPress: (path: string) => void,
  onError: (path: string, error: unknown) => void,
  open: (path: string) => Readable = openEventStream,
): void {
  for (const path of paths) {
    const split = createEventSplitter();
    const stream = open(path);
    stream.on('data', (chunk: Buffer) => {
      if (split(chunk).some(isPowerKeyPress)) onPress(path);
    });
    stream.on('error', (error) => onError(path, error));
  }
}
