/** Boot stage "logs": persists the init and kernel logs to config.logs.path with rotation. (Not written yet.) */
import type { StageContext } from '../init/context.ts';

export async function logsStage(_ctx: StageContext): Promise<string> {
  return 'not available yet';
}
