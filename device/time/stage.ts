/** Boot stage "time": synchronises the clock with settings().time.servers (SNTP). (Not written yet.) */
import type { StageContext } from '../init/context.ts';

export async function timeStage(_ctx: StageContext): Promise<string> {
  return 'not available yet';
}
