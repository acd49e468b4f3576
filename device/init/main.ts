/**
 * PID 1 of a kiln device. The initramfs's /init is `#!/usr/bin/node /usr/lib/kiln/device/init/main.ts`: Node runs
 * this file from source (type stripping). This file only binds the real system to `startInit` and routes every
 * failure to the crash path; the logic lives in the modules it imports.
 */
import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { nodeHostFs } from '../sys/host-fs.ts';
import { openLibc, type Libc } from '../sys/libc.ts';
import { openNetSys } from '../sys/net.ts';
import { openClock } from '../sys/clock.ts';
import { crash } from './crash.ts';
import { createLog } from '../base/log.ts';
import { watchPowerButtons } from './power-button.ts';
import { isOwnChild } from '../base/reaper.ts';
import { startInit } from './start.ts';
import { nodeEfiVars } from '../sys/efivars.ts';
import { nodeSlotFiles } from '../sys/slot-files.ts';
import { readBlock } from '../sys/block.ts';

const startedAt = performance.now();

// Synchronous writes: a crash report must be on the console before reboot(2), not in a stream buffer.
const log = createLog((text) => void fs.writeSync(1, text));

if (process.pid !== 1) {
  // Mounting, killing every process and rebooting are only right for the init of a kiln device.
  log.error(`init must run as PID 1 (this is pid ${process.pid}); refusing to start`);
  process.exit(2);
}

let libc: Libc | undefined;
const fatal = (error: unknown): void => crash(error, { libc, log, exit: (code) => process.exit(code) });
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

log.info(`init starting (node ${process.version}, ${Math.round(startedAt)} ms after node started)`);
try {
  const bindStarted = performance.now();
  libc = openLibc();
  log.info(`libc: bound through koffi (${Math.round(performance.now() - bindStarted)} ms)`);
  startInit({
    libc,
    fs: nodeHostFs,
    net: openNetSys(),
    clock: openClock(),
    log,
    now: () => performance.now(),
    startedAt,
    selfPid: process.pid,
    sleep: (ms) => sleep(ms),
    onSignal: (signal, handler) => void process.on(signal, handler),
    watchPowerButtons: (paths, onPress, onError) => watchPowerButtons(paths, onPress, onError),
    ownChild: isOwnChild,
    fatal,
    defer: (fn) => void setTimeout(fn, 0),
    update: { efivars: nodeEfiVars(), slotFiles: nodeSlotFiles, readBlock, isoNow: () => new Date().toISOString() },
  }).catch(fatal);
} catch (error) {
  fatal(error);
}

// PID 1 must never return: keep the event loop alive even when nothing else (power button, services) holds it.
setInterval(() => {}, 2 ** 31 - 1);
