/**
 * Restart policy and backoff of anything the init keeps running: TypeScript program services and containers.
 * Shared by the host schema and the device. Erasable TypeScript only.
 */
import { z } from 'zod';
import { DEFAULT_BACKOFF, RESTART_POLICIES } from '../programs/backoff.ts';

export const backoffSchema = z
  .object({
    initialMs: z.number().int().min(10).max(3_600_000).default(DEFAULT_BACKOFF.initialMs).describe('Delay before the first restart, in ms.'),
    maxMs: z.number().int().min(10).max(86_400_000).default(DEFAULT_BACKOFF.maxMs).describe('The delay doubles after each failed run, up to this (ms).'),
    resetAfterMs: z
      .number()
      .int()
      .min(0)
      .max(86_400_000)
      .default(DEFAULT_BACKOFF.resetAfterMs)
      .describe('A run at least this long (ms) was stable: the next delay starts again from initialMs.'),
  })
  .strict()
  .refine((b) => b.maxMs >= b.initialMs, { path: ['maxMs'], message: 'expected maxMs at least initialMs' });

export const restartSchema = z
  .enum(RESTART_POLICIES)
  .default('always')
  .describe('always: restart whenever it exits; on-failure: only after a non-zero exit or a signal; never: run once.');
