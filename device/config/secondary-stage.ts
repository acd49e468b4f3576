/**
 * Boot stage "secondary": reads the secondary config (or writes the firmware's default there on first boot; see
 * secondary-file.ts) and puts primary ⊕ secondary in effect for the stages after it. Listens for SIGHUP to reload.
 */
import type { StageContext } from '../base/context.ts';
import { notMountedReason, placementOf } from '../base/mount-table.ts';
import { keysSet, mergeSettings } from './merge.ts';
import { reloadSecondary } from './reload.ts';
import { loadSecondary, type SecondarySource } from './secondary-file.ts';
import { errorMessage } from '../contract/error-message.ts';

const SOURCE_TEXT: Record<SecondarySource, string> = {
  file: '',
  'first boot': 'first boot, wrote the default; ',
  'last known good': 'invalid, using the last known good copy; ',
  default: 'using the default from the firmware; ',
};

/** What the stage uses of the boot's context. */
export type SecondaryContext = Pick<StageContext, 'libc' | 'fs' | 'data' | 'log' | 'config' | 'settings' | 'setSettings' | 'onSignal'>;

export async function secondaryStage(ctx: SecondaryContext): Promise<string> {
  const { data } = ctx;
  const secondary = ctx.config.secondary;
  if (secondary === undefined) {
    ctx.onSignal('SIGHUP', () => ctx.log.warn('reload: this firmware has no secondary config (secondary.path): nothing to reload'));
    return 'none (no secondary.path in the config)';
  }
  const { path } = secondary;
  const placement = placementOf(ctx.fs, path);
  const notPersistent = placement.persistent ? undefined : notMountedReason(path, ctx.config.storage?.partitions ?? []);
  const loaded = loadSecondary({ data, log: ctx.log, tag: 'secondary' }, path, ctx.config.name, secondary.default, notPersistent);
  const settings = mergeSettings(ctx.settings(), loaded.secondary);
  ctx.setSettings(settings);
  // The level is known now: the stages after this one already log by it (the logs stage sets it too, for images
  // without a secondary config).
  ctx.log.setLevel(settings.log?.level ?? 'info');
  ctx.log.debug(`secondary: settings in effect: ${JSON.stringify(settings)}`);

  ctx.onSignal('SIGHUP', () => {
    try {
      reloadSecondary(ctx, data, path);
    } catch (error) {
      ctx.log.error(`reload: failed: ${errorMessage(error)}`);
    }
  });
  const keys = keysSet(loaded.secondary);
  return `${path}: ${SOURCE_TEXT[loaded.source]}sets ${keys.length > 0 ? keys.join(', ') : 'nothing'}`;
}
