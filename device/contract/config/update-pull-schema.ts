/**
 * The secondary config's `update`: where the device pulls its firmware from (a tag `kiln push` writes), how often it
 * looks, and when it may reboot into a new one (device/update/pull.ts). A secondary key, not a firmware one: which
 * tag a device follows and when it may restart are the site's decisions, and change without a rebuild. The primary
 * config's `update` section (update-schema.ts) is what makes a device updatable at all.
 */
import { z } from 'zod';
import { ImageRefError, parseImageRef } from '../oci/image-ref.ts';

const HH_MM = /^([01]\d|2[0-3]):[0-5]\d$/;

/** Timers of more than 2^31 ms fire at once in Node; a week is well inside that. */
export const MAX_PULL_INTERVAL_SECONDS = 7 * 24 * 3600;

/** Why `text` is not a registry reference, with the parser's own words; undefined when it is one. */
function notRegistryRef(text: string): string | undefined {
  try {
    const ref = parseImageRef(text);
    return ref.transport === 'registry' ? undefined : `${ref.transport}: names files on a host; the device pulls from a registry`;
  } catch (error) {
    return error instanceof ImageRefError ? `${error.message.replace(/^image "[^"]*": /, '')}: ${error.hint}` : String(error);
  }
}

const clock = z.string().regex(HH_MM, 'expected a UTC time of day "HH:MM", like "02:30"');

export const updatePullSchema = z
  .object({
    source: z
      .string()
      .superRefine((text, ctx) => {
        const why = notRegistryRef(text);
        if (why !== undefined)
          ctx.addIssue({ code: 'custom', message: `expected REGISTRY/REPOSITORY:TAG as \`kiln push --to\` writes it, found ${JSON.stringify(text)} (${why})` });
      })
      .describe(
        'The tag (or digest) the device follows: a kiln firmware artifact from `kiln push`. The registry is reached through `registries` when that names it.',
      ),
    interval: z
      .number()
      .int()
      .min(30)
      .max(MAX_PULL_INTERVAL_SECONDS)
      .default(3600)
      .describe('Seconds between two looks at the source (and one look soon after boot), with a little jitter.'),
    window: z
      .object({
        start: clock.describe('Start of the window, UTC.'),
        end: clock.describe('End of the window, UTC (before start: the window spans midnight).'),
      })
      .strict()
      .refine((w) => w.start !== w.end, { message: 'expected start and end to differ (that window would never open)' })
      .optional()
      .describe(
        'When the device may reboot into a pulled firmware (UTC). Outside it the firmware is installed at once and the reboot waits for the window to open. @default any time',
      ),
  })
  .strict();

export type UpdatePull = z.output<typeof updatePullSchema>;
export type UpdateWindow = NonNullable<UpdatePull['window']>;
