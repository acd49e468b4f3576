/**
 * What a container's run may leave behind once `crun delete` has run: its cgroup (/sys/fs/cgroup/kiln/<name>) and
 * mounts under its bundle (/run/kiln/containers/<name>/). Neither should remain; the stage warns, naming each.
 */
import { BUNDLES } from './bundle.ts';

/** Where kiln's containers' cgroups live, relative to the cgroup v2 root (runtime-spec.ts's cgroupsPath). */
export const CGROUP_ROOT = '/sys/fs/cgroup/kiln';

export interface LeftoverFs {
  readText(path: string): string;
  exists(path: string): boolean;
}

export function leftoversOf(name: string, fs: LeftoverFs): string[] {
  const found: string[] = [];
  const cgroup = `${CGROUP_ROOT}/${name}`;
  if (fs.exists(cgroup)) found.push(`its cgroup ${cgroup} is still there`);
  const bundle = `${BUNDLES}/${name}/`;
  // /proc/self/mountinfo field 5 is the mount point (octal escapes for spaces; kiln's paths have none).
  const mounts = fs
    .readText('/proc/self/mountinfo')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point): point is string => point !== undefined && point.startsWith(bundle));
  if (mounts.length > 0) found.push(`${mounts.length} mount(s) under ${bundle} remain (${mounts.join(', ')})`);
  return found;
}
