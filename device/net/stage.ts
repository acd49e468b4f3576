/** Boot stage "network": brings up loopback and the interfaces of settings().network. (Not written yet.) */
import type { StageContext } from '../init/context.ts';

export async function networkStage(_ctx: StageContext): Promise<string> {
  return 'not available yet';
}
