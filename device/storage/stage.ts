/** Boot stage "storage": mounts the partitions of config.storage by filesystem LABEL. (Not written yet.) */
import type { StageContext } from '../init/context.ts';

export async function storageStage(_ctx: StageContext): Promise<string> {
  return 'not available yet';
}
