import { describe, expect, test } from 'vitest';
import { containerSchema, DEFAULT_CAPABILITIES } from '../contract/config/containers-schema.ts';
import { containerArgs, containerEnv, resolveUser, runtimeSpec, type ImageConfig, type SpecContext } from './runtime-spec.ts';

const image: ImageConfig = { entrypoint: ['/bin/app'], cmd: ['--serve'], env: ['PATH=/bin', 'MODE=image'], workingDir: '/srv', user: '' };
const ctx: SpecContext = { rootfs: '/data/kiln/containers/roots/ab/rootfs', hostname: 'edge', partitions: { DATA: '/data' }, devices: [], resolvConf: true };
const container = (extra: Record<string, unknown> = {}) => containerSchema.parse({ name: 'web', image: 'oci:images/web', ...extra });

describe('runtimeSpec', () => {
  test('Docker rules for the command: args replace Cmd, command replaces Entrypoint and drops Cmd', () => {
    expect(containerArgs(container(), image)).toEqual(['/bin/app', '--serve']);
    expect(containerArgs(container({ args: ['--check'] }), image)).toEqual(['/bin/app', '--check']);
    expect(containerArgs(container({ command: ['/bin/sh', '-c', 'echo hi'] }), image)).toEqual(['/bin/sh', '-c', 'echo hi']);
    expect(() => containerArgs(container(), { ...image, entrypoint: [], cmd: [] })).toThrow(/no Entrypoint or Cmd/);
  });

  test("the container's env overrides the image's, PATH is always set", () => {
    expect(containerEnv(container({ env: { MODE: 'edge' } }), image)).toEqual(['PATH=/bin', 'MODE=edge']);
    expect(containerEnv(container(), { ...image, env: [] })[0]).toMatch(/^PATH=\/usr\/local\/sbin:/);
  });

  test("users by number or by name from the image's passwd and group", () => {
    expect(resolveUser('', undefined, undefined)).toEqual({ uid: 0, gid: 0 });
    expect(resolveUser('1000:27', undefined, undefined)).toEqual({ uid: 1000, gid: 27 });
    const passwd = 'root:x:0:0::/root:/bin/sh\nwww:x:33:34::/var/www:/bin/false\n';
    expect(resolveUser('www', passwd, 'www:x:34:\nvideo:x:44:\n')).toEqual({ uid: 33, gid: 34 });
    expect(resolveUser('www:video', passwd, 'www:x:34:\nvideo:x:44:\n')).toEqual({ uid: 33, gid: 44 });
    expect(() => resolveUser('nobody', passwd, undefined)).toThrow(/no user "nobody"/);
  });

  test('defaults: read-only image root, minimal capabilities, host network, one cgroup per container', () => {
    const spec = runtimeSpec(container(), image, ctx) as any;
    expect(spec.ociVersion).toBe('1.0.2');
    expect(spec.root).toEqual({ path: ctx.rootfs, readonly: true });
    expect(spec.process.cwd).toBe('/srv');
    expect(spec.process.capabilities.bounding).toEqual(DEFAULT_CAPABILITIES);
    expect(spec.process.noNewPrivileges).toBe(true);
    expect(spec.linux.namespaces.map((n: { type: string }) => n.type)).not.toContain('network');
    expect(spec.linux.cgroupsPath).toBe('/kiln/web');
    expect(spec.mounts.map((m: { destination: string }) => m.destination)).toEqual([
      '/proc',
      '/dev',
      '/dev/pts',
      '/dev/shm',
      '/dev/mqueue',
      '/sys',
      '/sys/fs/cgroup',
      '/tmp',
      '/run',
      '/etc/resolv.conf',
    ]);
  });

  test('network none, partition and tmpfs mounts, resources through cgroup v2, real-time rlimit and CAP_SYS_NICE', () => {
    const spec = runtimeSpec(
      container({
        network: 'none',
        mounts: [
          { type: 'partition', label: 'DATA', path: 'web', target: '/var/lib/web' },
          { type: 'tmpfs', target: '/cache', size: '8M', readOnly: true },
        ],
        resources: { memory: '256M', cpuWeight: 50, cpus: [0, 1] },
        realtime: { policy: 'fifo', priority: 80, cpus: [1] },
      }),
      image,
      ctx,
    ) as any;
    expect(spec.linux.namespaces.map((n: { type: string }) => n.type)).toContain('network');
    expect(spec.mounts).toContainEqual({ destination: '/var/lib/web', type: 'bind', source: '/data/web', options: ['rbind', 'nosuid', 'nodev', 'rw'] });
    expect(spec.mounts).toContainEqual({ destination: '/cache', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'size=8388608', 'ro'] });
    expect(spec.mounts.map((m: { destination: string }) => m.destination)).not.toContain('/etc/resolv.conf');
    const offline = runtimeSpec(container(), image, { ...ctx, resolvConf: false }) as any;
    expect(offline.mounts.map((m: { destination: string }) => m.destination)).not.toContain('/etc/resolv.conf');
    expect(spec.linux.resources.unified).toEqual({ 'memory.max': '268435456', 'cpu.weight': '50', 'cpuset.cpus': '0,1' });
    expect(spec.process.rlimits).toContainEqual({ type: 'RLIMIT_RTPRIO', hard: 80, soft: 80 });
    expect(spec.process.capabilities.effective).toContain('CAP_SYS_NICE');
  });

  test('a mount from a partition that is not mounted names the field', () => {
    expect(() => runtimeSpec(container({ mounts: [{ type: 'partition', label: 'LOGS', target: '/logs' }] }), image, ctx)).toThrow(
      expect.objectContaining({ field: 'mounts.0.label', message: 'no partition labelled LOGS is mounted on this device' }),
    );
  });

  test('privileged: every capability and every device, nothing masked; devices otherwise allowed one by one', () => {
    const privileged = runtimeSpec(container({ privileged: true }), image, ctx) as any;
    expect(privileged.process.capabilities.bounding).toContain('CAP_SYS_ADMIN');
    expect(privileged.linux.resources.devices).toEqual([{ allow: true, access: 'rwm' }]);
    expect(privileged.linux.maskedPaths).toBeUndefined();
    const serial = { path: '/dev/ttyS1', type: 'c' as const, major: 4, minor: 65, fileMode: 0o660, uid: 0, gid: 20 };
    const withDevice = runtimeSpec(container({ devices: ['/dev/ttyS1'] }), image, { ...ctx, devices: [serial] }) as any;
    expect(withDevice.linux.devices).toEqual([serial]);
    expect(withDevice.linux.resources.devices.at(-1)).toEqual({ allow: true, type: 'c', major: 4, minor: 65, access: 'rwm' });
  });
});
