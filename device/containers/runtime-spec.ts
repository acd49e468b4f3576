/**
 * The OCI runtime config (config.json, runtime-spec 1.0 as crun 1.8 reads it) for one container: pure, from the
 * container's settings, its image's config and what the device knows (where partitions are mounted, device
 * numbers). Docker's rules for the command: `command` replaces the image's Entrypoint and drops its Cmd; `args`
 * replaces Cmd. The root filesystem is the unpacked image, read-only (shared by every run and every container of
 * that image); /tmp and /run are fresh tmpfs. Real-time scheduling is not in here: crun 1.8 ignores
 * `process.scheduler`, so the init applies it between `crun create` and `crun start` (crun.ts).
 */
import { DEFAULT_CAPABILITIES, type ContainerConfig } from '../contract/config/containers-schema.ts';
import type { ImageConfig as FullImageConfig } from './image-config.ts';

/** What of the image's config the runtime config needs (image-config.ts parses the whole). */
export type ImageConfig = Pick<FullImageConfig, 'entrypoint' | 'cmd' | 'env' | 'workingDir' | 'user'>;

export interface DeviceNode {
  path: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
}

export interface SpecContext {
  rootfs: string;
  hostname: string;
  /** Mounted partitions: LABEL → mount point. */
  partitions: Readonly<Record<string, string>>;
  /** The nodes named in `devices`, as the device has them. */
  devices: readonly DeviceNode[];
  /** The device has an /etc/resolv.conf (from DHCP or the config): host-network containers see it. */
  resolvConf?: boolean;
  /** The image's /etc/passwd and /etc/group, to resolve a user name; undefined when the image has none. */
  passwd?: string;
  group?: string;
}

/** Every capability Linux 6.1 knows: what `privileged` grants. */
export const ALL_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export class SpecError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

export function containerArgs(c: ContainerConfig, image: ImageConfig): string[] {
  const args = c.command !== undefined ? [...c.command, ...(c.args ?? [])] : [...image.entrypoint, ...(c.args ?? image.cmd)];
  if (args.length === 0) throw new SpecError('command', 'the image has no Entrypoint or Cmd and the container sets no command');
  return args;
}

export function containerEnv(c: ContainerConfig, image: ImageConfig): string[] {
  const env = new Map<string, string>();
  for (const entry of image.env) {
    const eq = entry.indexOf('=');
    if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  for (const [k, v] of Object.entries(c.env)) env.set(k, v);
  if (!env.has('PATH')) env.set('PATH', DEFAULT_PATH.slice('PATH='.length));
  return [...env].map(([k, v]) => `${k}=${v}`);
}

/** `uid[:gid]` or a name looked up in the image's /etc/passwd (and a group name in /etc/group). */
export function resolveUser(spec: string, passwd: string | undefined, group: string | undefined): { uid: number; gid: number } {
  if (spec === '') return { uid: 0, gid: 0 };
  const [userPart, groupPart] = spec.split(':') as [string, string | undefined];
  const lookup = (file: string | undefined, name: string, idField: number, kind: string): string[] => {
    const line = file
      ?.split('\n')
      .map((l) => l.split(':'))
      .find((f) => f[0] === name);
    if (line === undefined) throw new SpecError('user', `the image has no ${kind} "${name}" (in /etc/${kind === 'user' ? 'passwd' : 'group'})`);
    return [line[idField]!, line[3] ?? '0'];
  };
  let uid: number;
  let gid: number;
  if (/^\d+$/.test(userPart)) {
    uid = Number(userPart);
    gid = 0;
  } else {
    const [u, g] = lookup(passwd, userPart, 2, 'user');
    uid = Number(u);
    gid = Number(g);
  }
  if (groupPart !== undefined) gid = /^\d+$/.test(groupPart) ? Number(groupPart) : Number(lookup(group, groupPart, 2, 'group')[0]);
  return { uid, gid };
}

function bytesOf(size: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMG])/i.exec(size)!;
  return Math.round(Number(m[1]) * 1024 ** ('KMG'.indexOf(m[2]!.toUpperCase()) + 1));
}

/** The runtime-spec document, as a plain object ready for JSON.stringify. */
export function runtimeSpec(c: ContainerConfig, image: ImageConfig, ctx: SpecContext): Record<string, unknown> {
  const user = resolveUser(c.user ?? image.user, ctx.passwd, ctx.group);
  const capabilities = c.privileged
    ? [...ALL_CAPABILITIES]
    : // A real-time container's own threads may set their priority (cyclictest -p 80 does): CAP_SYS_NICE.
      [...new Set([...DEFAULT_CAPABILITIES, ...c.capabilities, ...(c.realtime ? ['CAP_SYS_NICE'] : [])])];
  const mounts: Record<string, unknown>[] = [
    { destination: '/proc', type: 'proc', source: 'proc' },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
    { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=755', 'size=16384k'] },
  ];
  if (c.network === 'host' && ctx.resolvConf === true)
    mounts.push({ destination: '/etc/resolv.conf', type: 'bind', source: '/etc/resolv.conf', options: ['rbind', 'ro'] });
  c.mounts.forEach((m, i) => {
    if (m.type === 'tmpfs') {
      mounts.push({
        destination: m.target,
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'nodev', `size=${bytesOf(m.size)}`, ...(m.readOnly ? ['ro'] : [])],
      });
      return;
    }
    const base = ctx.partitions[m.label];
    if (base === undefined) throw new SpecError(`mounts.${i}.label`, `no partition labelled ${m.label} is mounted on this device`);
    const source = m.path === '' ? base : `${base.replace(/\/$/, '')}/${m.path}`;
    mounts.push({ destination: m.target, type: 'bind', source, options: ['rbind', 'nosuid', 'nodev', m.readOnly ? 'ro' : 'rw'] });
  });

  const unified: Record<string, string> = {};
  if (c.resources.memory !== undefined) unified['memory.max'] = String(bytesOf(c.resources.memory));
  if (c.resources.cpuWeight !== undefined) unified['cpu.weight'] = String(c.resources.cpuWeight);
  if (c.resources.cpus !== undefined) unified['cpuset.cpus'] = c.resources.cpus.join(',');

  const namespaces = [
    { type: 'pid' },
    { type: 'ipc' },
    { type: 'uts' },
    { type: 'mount' },
    { type: 'cgroup' },
    ...(c.network === 'none' ? [{ type: 'network' }] : []),
  ];
  const standardDevices = [
    { allow: false, access: 'rwm' },
    ...[
      [1, 3],
      [1, 5],
      [1, 7],
      [1, 8],
      [1, 9],
      [5, 0],
      [5, 2],
      [136, -1],
    ].map(([major, minor]) => ({ allow: true, type: 'c', major, ...(minor! >= 0 ? { minor } : {}), access: 'rwm' })),
  ];
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: user.uid, gid: user.gid },
      args: containerArgs(c, image),
      env: containerEnv(c, image),
      cwd: c.workingDir ?? (image.workingDir === '' ? '/' : image.workingDir),
      capabilities: { bounding: capabilities, effective: capabilities, permitted: capabilities },
      rlimits: [
        { type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 },
        ...(c.realtime ? [{ type: 'RLIMIT_RTPRIO', hard: c.realtime.priority, soft: c.realtime.priority }] : []),
      ],
      noNewPrivileges: !c.privileged,
    },
    root: { path: ctx.rootfs, readonly: true },
    hostname: ctx.hostname,
    mounts,
    linux: {
      namespaces,
      // Relative to the cgroup v2 root: /sys/fs/cgroup/kiln/<name>, one group per container.
      cgroupsPath: `/kiln/${c.name}`,
      resources: {
        devices: c.privileged
          ? [{ allow: true, access: 'rwm' }]
          : [...standardDevices, ...ctx.devices.map((d) => ({ allow: true, type: d.type, major: d.major, minor: d.minor, access: 'rwm' }))],
        ...(Object.keys(unified).length > 0 ? { unified } : {}),
      },
      devices: ctx.devices.map((d) => ({ ...d })),
      ...(c.privileged
        ? {}
        : {
            maskedPaths: [
              '/proc/acpi',
              '/proc/kcore',
              '/proc/keys',
              '/proc/latency_stats',
              '/proc/timer_list',
              '/proc/timer_stats',
              '/proc/sched_debug',
              '/proc/scsi',
              '/sys/firmware',
            ],
            readonlyPaths: ['/proc/asound', '/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
          }),
    },
  };
}
