/** Boot stage "sysctl": writes settings().sysctl to /proc/sys. (Not written yet.) */
import type { StageContext } from './context.ts';

export async function sysctlStage(_ctx: StageContext): Promise<string> {
  return 'not available yet';
}
