/**
 * What the storage stage needs from the system beyond the StageContext, bound to the real device here and to
 * fakes in tests.
 */
import { readBlock, findExecutable } from '../sys/block.ts';
import { runProgram, startOnConsole, type ProgramResult } from '../sys/process.ts';
import { startConsoleShell } from '../base/console-shell.ts';
import type { Log } from '../base/log.ts';
import { trackChild } from '../base/reaper.ts';

export interface StorageIo {
  /** `length` bytes at `offset` of a device; fewer at its end. Throws node:fs errors. */
  readAt(device: string, offset: number, length: number): Uint8Array;
  /** The first of `paths` that exists and is executable. */
  findProgram(paths: readonly string[]): string | undefined;
  runProgram(program: string, args: readonly string[]): Promise<ProgramResult>;
  /** The degraded boot's console shell (only asked for when the config has `debug: true`). */
  startConsoleShell(log: Log, reason: string): void;
}

export const nodeStorageIo: StorageIo = {
  readAt: readBlock,
  findProgram: findExecutable,
  runProgram: (program, args) => runProgram(program, args, trackChild),
  startConsoleShell: (log, reason) => startConsoleShell({ log, node: process.execPath, startOnConsole, trackChild }, reason),
};
