/** Boot stage "secondary": reads (or seeds) the secondary config and sets primary ⊕ secondary as the settings. (Not written yet.) */
import type { StageContext } from '../init/context.ts';

export async function secondaryStage(_ctx: StageContext): Promise<string> {
  return 'not available yet';
}
